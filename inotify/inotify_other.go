//go:build !linux

package inotify

// Tree is a watched set of directory trees. Off Linux it cannot be created:
// WatchTree returns ErrNotSupported.
type Tree struct{}

// WatchTree returns ErrNotSupported: file watching needs Linux inotify.
func WatchTree(opts Options) (*Tree, error) {
	if _, err := NewRules(opts.Patterns, opts.Excludes, opts.ReloadOnly); err != nil {
		return nil, err
	}
	return nil, ErrNotSupported
}

// Close does nothing.
func (t *Tree) Close() error { return nil }

// WatchCount returns 0.
func (t *Tree) WatchCount() int { return 0 }

// PolledCount returns 0.
func (t *Tree) PolledCount() int { return 0 }

// Roots returns nil.
func (t *Tree) Roots() []RootInfo { return nil }
