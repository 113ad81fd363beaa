package fake

import (
	"fmt"
	"strings"
)

// flags are parsed options: name (as written, e.g. "--label" or "-p") to values.
type flags map[string][]string

func (f flags) has(n string) bool { _, ok := f[n]; return ok }

func (f flags) one(names ...string) string {
	for _, n := range names {
		if v := f[n]; len(v) > 0 {
			return v[len(v)-1]
		}
	}
	return ""
}

func (f flags) all(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, f[n]...)
	}
	return out
}

// parse reads options until the first positional argument or "--" (which
// is dropped when dropDashes). valued flags take a value (separate or after
// '='); bools take none. Combined short booleans (-it) are split.
func parse(args []string, valued, bools []string, stopAtPositional bool) (flags, []string, error) {
	isValued := set(valued)
	isBool := set(bools)
	f := flags{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return f, args[i+1:], nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if stopAtPositional {
				return f, args[i:], nil
			}
			f["_"] = append(f["_"], a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case isValued[name]:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("flag needs an argument: %s", name)
				}
				i++
				val = args[i]
			}
			f[name] = append(f[name], val)
		case isBool[name] && !hasVal:
			f[name] = append(f[name], "true")
		case len(a) > 2 && a[1] != '-' && allBool(a[1:], isBool):
			for _, c := range a[1:] {
				f["-"+string(c)] = append(f["-"+string(c)], "true")
			}
		default:
			return nil, nil, fmt.Errorf("unknown flag: %s", name)
		}
	}
	return f, f["_"], nil
}

func allBool(shorts string, isBool map[string]bool) bool {
	for _, c := range shorts {
		if !isBool["-"+string(c)] {
			return false
		}
	}
	return true
}

func set(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}
