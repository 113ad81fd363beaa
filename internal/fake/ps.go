package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

// psRow is what a `docker ps --format` template sees of a container.
type psRow struct {
	ID, Names, Image, State, Ports, CreatedAt, Labels string
	labels                                            map[string]string
}

// Label is docker's {{.Label "key"}}: one label's value, "" when unset.
func (r psRow) Label(k string) string { return r.labels[k] }

// networkRow is what a `docker network ls --format` template sees.
type networkRow struct {
	ID, Name, Driver, Labels string
	labels                   map[string]string
}

func (r networkRow) Label(k string) string { return r.labels[k] }

// format parses a --format template with docker's json function.
func format(p *Proc, text string) (*template.Template, int) {
	t, err := template.New("format").Funcs(template.FuncMap{"json": func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		return strings.TrimSpace(b.String())
	}}).Parse(text)
	if err != nil {
		return nil, usage(p, "docker", "template parsing error: %v", err)
	}
	return t, 0
}

// joinLabels is .Labels: k=v pairs joined with commas, as docker prints them.
func joinLabels(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// shortID is what docker prints without --no-trunc.
func shortID(id string, full bool) string {
	if full || len(id) < 12 {
		return id
	}
	return id[:12]
}

// listFormat is a listing's --format, one line per item (-q or none:
// the ID).
func listFormat(p *Proc, f flags) (*template.Template, int) {
	text := f.one("--format")
	if f.has("-q") || text == "" {
		text = "{{.ID}}"
	}
	return format(p, text+"\n")
}

// dockerPs answers `docker ps -a --filter label=K[=V] --format F`.
func (st *State) dockerPs(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"--filter", "--format"}, []string{"-a", "--all", "-q", "--no-trunc"}, false)
	if err != nil || len(rest) != 0 {
		return usage(p, "docker", "ps: %v", err)
	}
	t, code := listFormat(p, f)
	if code != 0 {
		return code
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
		state := "created"
		if c.Running {
			state = "running"
		}
		var ports []string
		for cp, hp := range c.Ports {
			ports = append(ports, hp+"->"+cp)
		}
		sort.Strings(ports)
		row := psRow{ID: shortID(c.ID, f.has("--no-trunc")), Names: n, Image: c.Image, State: state,
			Ports: strings.Join(ports, ", "), CreatedAt: fmt.Sprintf("2026-11-27 00:00:%02d +0000 UTC", c.Created%60),
			Labels: joinLabels(c.Labels), labels: c.Labels}
		if err := t.Execute(p.Stdout, row); err != nil {
			return usage(p, "docker", "ps: template: %v", err)
		}
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

// dockerNetworkLs answers `docker network ls --filter label=… --format F`.
func (st *State) dockerNetworkLs(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"--filter", "--format"}, []string{"-q", "--no-trunc"}, false)
	if err != nil || len(rest) != 0 {
		return usage(p, "docker", "network ls: %v", err)
	}
	t, code := listFormat(p, f)
	if code != 0 {
		return code
	}
	var ids []string
	for id, nw := range st.Networks {
		if matchesFilters(nw.Labels, f.all("--filter")) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := st.Networks[ids[i]], st.Networks[ids[j]]
		return a.Name < b.Name || a.Name == b.Name && ids[i] < ids[j]
	})
	for _, id := range ids {
		nw := st.Networks[id]
		row := networkRow{ID: shortID(id, f.has("--no-trunc")), Name: nw.Name, Driver: "bridge",
			Labels: joinLabels(nw.Labels), labels: nw.Labels}
		if err := t.Execute(p.Stdout, row); err != nil {
			return usage(p, "docker", "network ls: template: %v", err)
		}
	}
	return 0
}
