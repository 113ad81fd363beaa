//go:build !unix

package supervise

import "errors"

// errUnsupported: the store and pipelock only live in the (Linux) bundle.
var errUnsupported = errors.New("not supported on this platform")

func lockDir(string) (func(), error) { return nil, errUnsupported }

func hangUp(int) error { return errUnsupported }
