// Command claude-bottle runs a coding agent in a bottle: a docker container
// or a smolvm microVM whose only way out is a sidecar bundle.
package main

import "os"

func main() {
	os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}
