//go:build race

package main

// Under go test -race the binary the end-to-end tests run is built with the
// race detector too, so that the wiring in main is checked as well.
func init() {
	buildFlags = append(buildFlags, "-race")
	raceBuild = true
}
