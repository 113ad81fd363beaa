package bundle

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxNameLen bounds a bottle name so that every derived resource name
// (claude-bottle-<name>-bundle, …) stays within what docker and smolvm accept.
const MaxNameLen = 63

// nameRE is the intersection of docker's container names and smolvm's
// machine names: ASCII letters, digits, '_' and '-', starting with a letter
// or digit.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// ValidateName is the one rule for bottle names, on both backends.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid bottle name: empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("invalid bottle name %q: longer than %d characters", name, MaxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("invalid bottle name %q: use letters, digits, '_' and '-', starting with a letter or digit", name)
	case strings.HasSuffix(name, "-") || strings.Contains(name, "--"):
		return fmt.Errorf("invalid bottle name %q: no trailing '-' and no '--' (smolvm rejects them)", name)
	}
	return nil
}
