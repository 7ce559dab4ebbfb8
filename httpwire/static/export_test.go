package static

// InlineFileMax is exported for the tests of package static_test.
const InlineFileMax = inlineFileMax
