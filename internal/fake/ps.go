package fake

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// dockerPs answers `docker ps -a --filter label=K[=V] --format F`: the
// names for '{{.Names}}', else (a JSON format) one JSON object per
// container with the fields docker prints.
func (st *State) dockerPs(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"--filter", "--format"}, []string{"-a", "--all", "-q", "--no-trunc"}, false)
	if err != nil || len(rest) != 0 {
		return usage(p, "docker", "ps: %v", err)
	}
	var names []string
	for n, c := range st.Containers {
		if matchesFilters(c.Labels, f.all("--filter")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		c := st.Containers[n]
		format := f.one("--format")
		if f.has("-q") || format == "{{.Names}}" {
			fmt.Fprintln(p.Stdout, n)
			continue
		}
		if !strings.Contains(format, "json") {
			return usage(p, "docker", "ps: the fake prints --format {{.Names}} or JSON, not %q", format)
		}
		state := "created"
		if c.Running {
			state = "running"
		}
		var ports, labels []string
		for cp, hp := range c.Ports {
			ports = append(ports, hp+"->"+cp)
		}
		sort.Strings(ports)
		for k, v := range c.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		b, _ := json.Marshal(map[string]string{
			"Names": n, "Image": c.Image, "State": state, "Ports": strings.Join(ports, ", "),
			"Labels": strings.Join(labels, ","), "CreatedAt": fmt.Sprintf("2026-11-27 00:00:%02d +0000 UTC", c.Created%60),
		})
		fmt.Fprintln(p.Stdout, string(b))
	}
	return 0
}

func matchesFilters(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		kv, ok := strings.CutPrefix(f, "label=")
		if !ok {
			return false
		}
		k, v, hasVal := strings.Cut(kv, "=")
		got, present := labels[k]
		if !present || (hasVal && got != v) {
			return false
		}
	}
	return true
}

// dockerNetworkLs answers `docker network ls --filter label=… --format {{.Name}}`.
func (st *State) dockerNetworkLs(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"--filter", "--format"}, []string{"-q"}, false)
	if err != nil || len(rest) != 0 || f.one("--format") != "{{.Name}}" {
		return usage(p, "docker", "network ls: %v (fake prints --format {{.Name}} only)", err)
	}
	var names []string
	for n, nw := range st.Networks {
		if matchesFilters(nw.Labels, f.all("--filter")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(p.Stdout, n)
	}
	return 0
}
