// Command smolvm is the smolvm stand-in of the end-to-end suite: it keeps
// smolvm 1.9.2's CLI contract (package fake) and, with
// FAKE_SMOLVM_GUEST=docker, runs each machine's guest as a container in the
// host's network namespace. FAKE_DIR holds its state and call log.
package main

import (
	"os"

	"github.com/claude-bottle/claude-bottle/internal/fake"
)

func main() {
	os.Exit(fake.Run("smolvm", &fake.Proc{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout,
		Stderr: os.Stderr, Dir: os.Getenv("FAKE_DIR"), Env: os.LookupEnv}))
}
