module reloadproxy

go 1.26.8

require (
	github.com/gobwas/glob v1.1.0
	github.com/gobwas/ws v1.5.0
	github.com/spf13/pflag v1.0.10
	golang.org/x/sys v0.49.0
)

require github.com/gobwas/httphead v0.1.0 // indirect
