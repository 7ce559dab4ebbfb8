package httpwire

// FileServer serves the files under Root (static mode). Its zero value is
// not usable: Root is required.
type FileServer struct {
	Root string
}

// serveFile answers the current request from the FileServer.
func (c *conn) serveFile() bool {
	c.out = appendSimpleResponse(c.out[:0], 501, "static mode is not built yet")
	c.writeClient(c.out)
	return false
}
