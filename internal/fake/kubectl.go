package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The kubectl stand-in keeps kubectl's contract (k8s.io/kubectl v0.37.2,
// kubectl 1.37) for the commands claude-bottle runs, against a cluster of
// its own per --context: namespaces and the objects in them. Every message
// it prints is kubectl's or the API server's; the source of each is cited
// where it is written. Anything else is refused (exit 1, like cobra's
// unknown command), so that an unintended command fails a golden.

// KubeCluster is what the stand-in keeps of one context's cluster.
type KubeCluster struct {
	Namespaces map[string]*KubeNamespace `json:"namespaces"`
	NextIP     int                       `json:"next_ip"` // the last octet of the next Service's clusterIP
}

// KubeNamespace is a namespace and the objects created in it.
type KubeNamespace struct {
	Labels  map[string]string      `json:"labels,omitempty"`
	Created int64                  `json:"created"`
	Objects map[string]*KubeObject `json:"objects"` // by "kind/name", kind in lower case
}

// KubeObject is one namespaced object: what a get prints of it and what
// exec, logs and wait need. A Secret's values are not kept (only their
// sizes): the stand-in's state holds no secret.
type KubeObject struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Created     int64             `json:"created"`
	Spec        json.RawMessage   `json:"spec,omitempty"`
	DataSizes   map[string]int    `json:"data_sizes,omitempty"`
	// Pod.
	Containers []string          `json:"containers,omitempty"`
	Phase      string            `json:"phase,omitempty"`
	Ready      bool              `json:"ready,omitempty"`
	Files      map[string]string `json:"files,omitempty"` // extracted with exec -i … tar --extract
	Session    *Session          `json:"session,omitempty"`
	// Service.
	ClusterIP string `json:"clusterIP,omitempty"`
}

// kubeVersion is the version whose contract the stand-in keeps.
const kubeVersion = "v1.37.2"

// systemNamespaces exist in every cluster (not in the state: they are no
// test's leftovers, and nothing of claude-bottle goes there).
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// kubeCall is one kubectl invocation: its global flags and its cluster.
type kubeCall struct {
	p         *Proc
	st        *State
	context   string
	namespace string // --namespace, "" when not given
	cl        *KubeCluster
}

func (st *State) kubectl(p *Proc) int {
	k := &kubeCall{p: p, st: st}
	args := p.Args
	// Global flags before the verb (claude-bottle's order: kube.Cluster.Kubectl).
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, val, hasVal := strings.Cut(args[0], "=")
		if name != "--context" && name != "--namespace" && name != "-n" { // pflag's message, as cobra prints it
			return k.fail("error: unknown flag: %s\nSee 'kubectl --help' for usage.", name)
		}
		if !hasVal {
			if len(args) < 2 {
				return k.fail("error: flag needs an argument: %s", name)
			}
			val, args = args[1], args[1:]
		}
		args = args[1:]
		if name == "--context" {
			k.context = val
		} else {
			k.namespace = val
		}
	}
	if st.Kube == nil {
		st.Kube = map[string]*KubeCluster{}
	}
	if k.cl = st.Kube[k.context]; k.cl == nil {
		k.cl = &KubeCluster{Namespaces: map[string]*KubeNamespace{}, NextIP: 10}
		st.Kube[k.context] = k.cl
	}
	if len(args) == 0 {
		return k.fail("error: the stand-in wants a command")
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "create":
		return k.create(rest)
	case "get":
		return k.get(rest)
	case "wait":
		return k.wait(rest)
	case "delete":
		return k.delete(rest)
	case "exec":
		return k.exec(rest)
	case "logs":
		return k.logs(rest)
	case "auth":
		return k.auth(rest)
	case "version":
		return k.version(rest)
	}
	// cobra's message for an unknown subcommand (spf13/cobra command.go, findSuggestions).
	return k.fail("error: unknown command %q for \"kubectl\"", verb)
}

// fail prints kubectl's fatal message (cmdutil.fatal: one line, a newline
// added) and exits 1 (cmdutil.DefaultErrorExitCode).
func (k *kubeCall) fail(format string, a ...any) int {
	fmt.Fprintln(k.p.Stderr, strings.TrimSuffix(fmt.Sprintf(format, a...), "\n"))
	return 1
}

// flagsOf parses a verb's flags: kubectl (pflag) takes them anywhere
// before "--", as --name=value or --name value.
func (k *kubeCall) flagsOf(args []string, valued, bools []string) (flags, []string, int) {
	f, rest, err := parse(args, valued, bools, false)
	if err != nil {
		return nil, nil, k.fail("error: %v", err)
	}
	return f, rest, 0
}

// resource kinds: what the API knows of each kind the product creates.
type kubeKind struct {
	kind, apiVersion, resource string // resource: the plural, with its group
	namespaced                 bool
	nameRule                   func(string) string
}

var kubeKinds = []kubeKind{
	{"Namespace", "v1", "namespaces", false, dns1123Label},
	{"Secret", "v1", "secrets", true, dns1123Subdomain},
	{"Pod", "v1", "pods", true, dns1123Subdomain},
	{"Service", "v1", "services", true, dns1035Label},
	{"NetworkPolicy", "networking.k8s.io/v1", "networkpolicies.networking.k8s.io", true, dns1123Subdomain},
}

// kindOf finds a kind by its name and apiVersion (a manifest) or by what a
// command line calls it (singular, plural, short name).
func kindOf(kind, apiVersion string) (kubeKind, bool) {
	for _, k := range kubeKinds {
		if k.kind == kind && k.apiVersion == apiVersion {
			return k, true
		}
	}
	return kubeKind{}, false
}

func kindByArg(arg string) (kubeKind, bool) {
	short := map[string]string{"ns": "Namespace", "po": "Pod", "svc": "Service", "netpol": "NetworkPolicy"}
	for _, k := range kubeKinds {
		plural, _, _ := strings.Cut(k.resource, ".")
		if arg == strings.ToLower(k.kind) || arg == plural || arg == k.resource || short[arg] == k.kind {
			return k, true
		}
	}
	return kubeKind{}, false
}

// nameOf is how kubectl --output=name prints an object: kind.group/name
// (k8s.io/cli-runtime pkg/printers/name.go).
func (k kubeKind) nameOf(name string) string {
	group, _, ok := strings.Cut(k.apiVersion, "/")
	if !ok {
		return strings.ToLower(k.kind) + "/" + name
	}
	return strings.ToLower(k.kind) + "." + group + "/" + name
}

// Name rules of the API server (k8s.io/apimachinery v0.37.2
// pkg/util/validation/validation.go: IsDNS1123Label, IsDNS1123Subdomain,
// IsDNS1035Label and their messages, RegexError's shape).
const (
	dns1123LabelFmt     = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1035LabelFmt     = "[a-z]([-a-z0-9]*[a-z0-9])?"
)

var (
	dns1123LabelRE     = regexp.MustCompile("^" + dns1123LabelFmt + "$")
	dns1123SubdomainRE = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")
	dns1035LabelRE     = regexp.MustCompile("^" + dns1035LabelFmt + "$")
)

func regexError(msg, format string, examples ...string) string {
	msg += " (e.g. "
	for i, e := range examples {
		if i > 0 {
			msg += " or "
		}
		msg += "'" + e + "', "
	}
	return msg + "regex used for validation is '" + format + "')"
}

func dns1123Label(n string) string {
	switch {
	case len(n) > 63:
		return "must be no more than 63 characters"
	case !dns1123LabelRE.MatchString(n):
		return regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, "my-name", "123-abc")
	}
	return ""
}

func dns1123Subdomain(n string) string {
	switch {
	case len(n) > 253:
		return "must be no more than 253 characters"
	case !dns1123SubdomainRE.MatchString(n):
		return regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, "example.com")
	}
	return ""
}

func dns1035Label(n string) string {
	switch {
	case len(n) > 63:
		return "must be no more than 63 characters"
	case !dns1035LabelRE.MatchString(n):
		return regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", dns1035LabelFmt, "my-name", "abc-123")
	}
	return ""
}

// kubeErr is one error of a command that goes on after errors (create):
// an API status (reason set) or kubectl's own.
type kubeErr struct {
	reason, msg string
	invalid     string // Invalid: "Kind \"name\"" and msg is its one cause
}

// report prints errors as kubectl's checkErr does (k8s.io/kubectl v0.37.2
// pkg/cmd/util/helpers.go): one error alone through StandardErrorMessage
// ("Error from server (REASON): …", an Invalid status as "The KIND "NAME"
// is invalid: CAUSE", others "error: …"); several as MultipleErrors, one
// line each, without the "error: " prefix.
func (k *kubeCall) report(errs []kubeErr) int {
	if len(errs) == 0 {
		return 0
	}
	if len(errs) == 1 {
		e := errs[0]
		switch {
		case e.invalid != "":
			return k.fail("The %s is invalid: %s", e.invalid, e.msg)
		case e.reason != "":
			return k.fail("Error from server (%s): %s", e.reason, e.msg)
		}
		return k.fail("error: %s", e.msg)
	}
	for _, e := range errs {
		switch {
		case e.invalid != "":
			fmt.Fprintf(k.p.Stderr, "Error from server (Invalid): error when creating \"STDIN\": %s is invalid: %s\n", e.invalid, e.msg)
		case e.reason != "":
			fmt.Fprintf(k.p.Stderr, "Error from server (%s): %s\n", e.reason, e.msg)
		default:
			fmt.Fprintln(k.p.Stderr, e.msg)
		}
	}
	return 1
}

// manifest is an item of the List kubectl create reads.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Data map[string]json.RawMessage `json:"data"`
	Spec json.RawMessage            `json:"spec"`
}

// create: `create --filename=- --output=name`, a List on stdin. Like
// kubectl (ContinueOnError, pkg/cmd/create/create.go RunCreate) it goes
// on with the other items after one fails, and reports every failure.
func (k *kubeCall) create(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--filename", "-f", "--output", "-o"}, nil)
	if code != 0 {
		return code
	}
	if len(rest) != 0 || f.one("--filename", "-f") != "-" || f.one("--output", "-o") != "name" {
		return k.fail("error: the stand-in takes only create --filename=- --output=name, got %q", args)
	}
	in, err := io.ReadAll(k.p.Stdin)
	if err != nil {
		return k.fail("error: %v", err)
	}
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(in, &list); err != nil {
		return k.fail("error: error parsing STDIN: %v", err)
	}
	items := list.Items
	if list.Kind != "List" {
		items = []json.RawMessage{in}
	}
	var errs []kubeErr
	for _, raw := range items {
		if e := k.createOne(raw); e != nil {
			errs = append(errs, *e)
		}
	}
	return k.report(errs)
}

func (k *kubeCall) createOne(raw json.RawMessage) *kubeErr {
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return &kubeErr{msg: fmt.Sprintf("error parsing STDIN: %v", err)}
	}
	kind, ok := kindOf(m.Kind, m.APIVersion)
	name := m.Metadata.Name
	if !ok {
		// k8s.io/cli-runtime v0.37.2 pkg/resource/mapper.go infoForData; the
		// cause is apimachinery's NoKindMatchError.
		_, version, _ := strings.Cut(m.APIVersion, "/")
		if version == "" {
			version = m.APIVersion
		}
		return &kubeErr{msg: fmt.Sprintf("resource mapping not found for name: %q namespace: %q from \"STDIN\": no matches for kind %q in version %q\nensure CRDs are installed first",
			name, m.Metadata.Namespace, m.Kind, m.APIVersion)}
	}
	ns := ""
	if kind.namespaced {
		ns = m.Metadata.Namespace
		if k.namespace != "" && ns != "" && ns != k.namespace {
			// k8s.io/cli-runtime v0.37.2 pkg/resource/visitor.go SetNamespace.
			return &kubeErr{msg: fmt.Sprintf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", ns, k.namespace, ns)}
		}
		if ns == "" {
			ns = k.namespace
		}
		if ns == "" {
			return &kubeErr{msg: "the stand-in wants a namespace (--namespace or metadata.namespace): claude-bottle names its bottle's always"}
		}
	}
	status := func(reason, format string, a ...any) *kubeErr {
		return &kubeErr{reason: reason, msg: "error when creating \"STDIN\": " + fmt.Sprintf(format, a...)}
	}
	invalid := func(field, cause string) *kubeErr {
		return &kubeErr{invalid: fmt.Sprintf("%s %q", m.Kind, name), msg: field + ": " + cause}
	}
	if name == "" {
		return invalid("metadata.name", "Required value: name or generateName is required")
	}
	if why := kind.nameRule(name); why != "" {
		return invalid("metadata.name", fmt.Sprintf("Invalid value: %q: %s", name, why))
	}
	for _, v := range m.Metadata.Labels {
		if why := labelValue(v); why != "" {
			return invalid("metadata.labels", fmt.Sprintf("Invalid value: %q: %s", v, why))
		}
	}
	var archive []byte // the bundle's files, listed in the log once created
	var secrets []string
	obj := &KubeObject{APIVersion: m.APIVersion, Kind: m.Kind, Name: name, Labels: m.Metadata.Labels,
		Annotations: m.Metadata.Annotations, Created: k.st.Clock, Spec: m.Spec}
	switch m.Kind {
	case "Secret":
		obj.DataSizes = map[string]int{}
		for key, v := range m.Data {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return status("BadRequest", "Secret in version \"v1\" cannot be handled as a Secret: %v", err)
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				// k8s.io/apiserver v0.37.2 pkg/endpoints/handlers/rest.go
				// transformDecodeError; the cause is encoding/json's.
				return status("BadRequest", "Secret in version \"v1\" cannot be handled as a Secret: %v", err)
			}
			obj.DataSizes[key] = len(b)
			if key == "files.tar" {
				archive = b
			} else {
				secrets = append(secrets, string(b))
			}
		}
	case "Pod":
		var spec struct {
			Containers []struct {
				Name  string `json:"name"`
				Image string `json:"image"`
			} `json:"containers"`
		}
		json.Unmarshal(m.Spec, &spec)
		if len(spec.Containers) == 0 {
			return invalid("spec.containers", "Required value")
		}
		for i, c := range spec.Containers {
			if c.Image == "" {
				return invalid(fmt.Sprintf("spec.containers[%d].image", i), "Required value")
			}
			if why := dns1123Label(c.Name); why != "" {
				return invalid(fmt.Sprintf("spec.containers[%d].name", i), fmt.Sprintf("Invalid value: %q: %s", c.Name, why))
			}
			obj.Containers = append(obj.Containers, c.Name)
		}
		obj.Phase, obj.Ready = "Running", true // at once: no image to pull here
	case "Service":
		var spec struct {
			Ports []json.RawMessage `json:"ports"`
		}
		json.Unmarshal(m.Spec, &spec)
		if len(spec.Ports) == 0 {
			return invalid("spec.ports", "Required value")
		}
	}
	if !kind.namespaced {
		if _, ok := k.cl.Namespaces[name]; ok || systemNamespaces[name] {
			return status("AlreadyExists", "namespaces %q already exists", name)
		}
		k.cl.Namespaces[name] = &KubeNamespace{Labels: m.Metadata.Labels, Created: k.st.Clock, Objects: map[string]*KubeObject{}}
		fmt.Fprintln(k.p.Stdout, kind.nameOf(name))
		logf(k.p.Dir, "  created %s\n", kind.nameOf(name))
		return nil
	}
	space, ok := k.cl.Namespaces[ns]
	if !ok {
		return status("NotFound", "namespaces %q not found", ns)
	}
	key := strings.ToLower(m.Kind) + "/" + name
	if _, ok := space.Objects[key]; ok {
		return status("AlreadyExists", "%s %q already exists", kind.resource, name)
	}
	if m.Kind == "Service" {
		obj.ClusterIP = "10.96.0." + strconv.Itoa(k.cl.NextIP)
		k.cl.NextIP++
	}
	space.Objects[key] = obj
	fmt.Fprintln(k.p.Stdout, kind.nameOf(name))
	k.logObject(kind, obj)
	if archive != nil {
		files, _ := logTar(k.p.Dir, bytes.NewReader(archive))
		if v, ok := files["etc/claude-bottle/secret"]; ok {
			secrets = append(secrets, strings.TrimSpace(string(v)))
		}
	}
	k.keepSecrets(secrets)
	return nil
}

// SecretValuesFile (in FAKE_DIR) lists, one a line, the secret values the
// created Secrets held (variables' values, the bottle's secret in the
// bundle's files), for a script to check that none appears elsewhere:
// `! exec grep -F -f kubectl-secret-values calls.log`.
const SecretValuesFile = "kubectl-secret-values"

func (k *kubeCall) keepSecrets(values []string) {
	f, err := os.OpenFile(filepath.Join(k.p.Dir, SecretValuesFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	for _, v := range values {
		if v != "" && !strings.Contains(v, "\n") {
			fmt.Fprintln(f, v)
		}
	}
}

// logObject logs what a golden should see of a created object: its name,
// a Secret's keys and sizes (never a value), a Pod's variables (plain
// values, or the Secret key they come from) and host aliases, a Service's
// address.
func (k *kubeCall) logObject(kind kubeKind, o *KubeObject) {
	logf(k.p.Dir, "  created %s\n", kind.nameOf(o.Name))
	for _, key := range sortedKeys(o.DataSizes) {
		logf(k.p.Dir, "    data %s (%d bytes)\n", key, o.DataSizes[key])
	}
	switch o.Kind {
	case "Service":
		var spec struct {
			Ports []struct {
				Port int `json:"port"`
			} `json:"ports"`
		}
		json.Unmarshal(o.Spec, &spec)
		var ports []string
		for _, p := range spec.Ports {
			ports = append(ports, strconv.Itoa(p.Port))
		}
		logf(k.p.Dir, "    clusterIP %s ports %s\n", o.ClusterIP, strings.Join(ports, " "))
	case "Pod":
		var spec struct {
			HostAliases []struct {
				IP        string   `json:"ip"`
				Hostnames []string `json:"hostnames"`
			} `json:"hostAliases"`
			Containers []struct {
				Env []struct {
					Name      string `json:"name"`
					Value     string `json:"value"`
					ValueFrom *struct {
						SecretKeyRef struct{ Name, Key string } `json:"secretKeyRef"`
					} `json:"valueFrom"`
				} `json:"env"`
			} `json:"containers"`
		}
		json.Unmarshal(o.Spec, &spec)
		for _, h := range spec.HostAliases {
			logf(k.p.Dir, "    host %s %s\n", h.IP, strings.Join(h.Hostnames, " "))
		}
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil {
					logf(k.p.Dir, "    env %s from secret %s key %s\n", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				} else {
					logf(k.p.Dir, "    env %s=%s\n", e.Name, e.Value)
				}
			}
		}
	}
}

// labelValue is the API's rule for a label value (apimachinery
// validation.IsValidLabelValue): 63 characters at most, alphanumerics,
// '-', '_' or '.', starting and ending with an alphanumeric.
var labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

func labelValue(v string) string {
	switch {
	case len(v) > 63:
		return "must be no more than 63 characters"
	case !labelValueRE.MatchString(v):
		return regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", "MyValue", "my_value", "12345")
	}
	return ""
}

// object is how a get prints an object (-o json): its manifest with the
// server's fields.
func (k *kubeCall) object(ns string, o *KubeObject) map[string]any {
	meta := map[string]any{"name": o.Name, "namespace": ns, "creationTimestamp": timestamp(o.Created),
		"uid": fmt.Sprintf("00000000-0000-4000-8000-%012d", o.Created)}
	if len(o.Labels) > 0 {
		meta["labels"] = o.Labels
	}
	if len(o.Annotations) > 0 {
		meta["annotations"] = o.Annotations
	}
	out := map[string]any{"apiVersion": o.APIVersion, "kind": o.Kind, "metadata": meta}
	if len(o.Spec) > 0 {
		var spec map[string]any
		json.Unmarshal(o.Spec, &spec)
		if o.Kind == "Service" {
			spec["clusterIP"] = o.ClusterIP
			spec["clusterIPs"] = []string{o.ClusterIP}
		}
		out["spec"] = spec
	}
	switch o.Kind {
	case "Pod":
		ready := "False"
		if o.Ready {
			ready = "True"
		}
		out["status"] = map[string]any{"phase": o.Phase, "conditions": []map[string]string{{"type": "Ready", "status": ready}}}
	case "Service":
		out["status"] = map[string]any{"loadBalancer": map[string]any{}}
	}
	return out
}

func (k *kubeCall) namespaceObject(name string, n *KubeNamespace) map[string]any {
	meta := map[string]any{"name": name, "creationTimestamp": timestamp(n.Created),
		"uid": fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Created)}
	labels := map[string]string{"kubernetes.io/metadata.name": name} // the API server sets it on every namespace
	for k, v := range n.Labels {
		labels[k] = v
	}
	meta["labels"] = labels
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": meta,
		"spec": map[string]any{"finalizers": []string{"kubernetes"}}, "status": map[string]any{"phase": "Active"}}
}

// timestamp is a creationTimestamp: the stand-in's clock as seconds.
func timestamp(clock int64) string {
	return fmt.Sprintf("2026-11-27T00:%02d:%02dZ", clock/60%60, clock%60)
}

// printJSON prints as kubectl -o json does (4-space indentation).
func (k *kubeCall) printJSON(v any) {
	b, _ := json.MarshalIndent(v, "", "    ")
	fmt.Fprintln(k.p.Stdout, string(b))
}

func printList(k *kubeCall, items []map[string]any) {
	if items == nil {
		items = []map[string]any{}
	}
	k.printJSON(map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}})
}

// notFound is the API's NotFound of a named object, as kubectl get prints it.
func (k *kubeCall) notFound(kind kubeKind, name string) int {
	return k.fail("Error from server (NotFound): %s %q not found", kind.resource, name)
}

// get: one object or a list, --output=json, or a Service's clusterIP with
// --output=jsonpath={.spec.clusterIP}.
func (k *kubeCall) get(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--output", "-o", "--selector", "-l"}, []string{"--ignore-not-found", "--all-namespaces", "-A"})
	if code != 0 {
		return code
	}
	if len(rest) == 0 || len(rest) > 2 {
		return k.fail("error: the stand-in takes get TYPE [NAME], got %q", args)
	}
	kind, ok := kindByArg(rest[0])
	if !ok || kind.kind == "Secret" {
		// kubectl's message for an unknown type (pkg/cmd/util/helpers.go checkErr, NoResourceMatchError).
		return k.fail("error: the server doesn't have a resource type %q", rest[0])
	}
	output := f.one("--output", "-o")
	jsonpath, isPath := strings.CutPrefix(output, "jsonpath=")
	if output != "json" && !(isPath && jsonpath == "{.spec.clusterIP}" && kind.kind == "Service") {
		return k.fail("error: the stand-in prints only --output=json (and a Service's jsonpath={.spec.clusterIP}), got %q", output)
	}
	sel, err := selector(f.one("--selector", "-l"))
	if err != nil {
		return k.fail("error: %v", err)
	}
	all := f.has("--all-namespaces") || f.has("-A")
	ignore := f.has("--ignore-not-found")
	if len(rest) == 2 {
		name := rest[1]
		if all { // k8s.io/cli-runtime v0.37.2 pkg/resource/builder.go
			return k.fail("error: a resource cannot be retrieved by name across all namespaces")
		}
		if !kind.namespaced {
			n, ok := k.cl.Namespaces[name]
			if !ok {
				if ignore {
					return 0
				}
				return k.notFound(kind, name)
			}
			k.printJSON(k.namespaceObject(name, n))
			return 0
		}
		ns, code := k.needNamespace()
		if code != 0 {
			return code
		}
		var o *KubeObject
		if space, ok := k.cl.Namespaces[ns]; ok {
			o = space.Objects[strings.ToLower(kind.kind)+"/"+name]
		}
		if o == nil {
			if ignore {
				return 0
			}
			return k.notFound(kind, name)
		}
		if isPath {
			fmt.Fprint(k.p.Stdout, o.ClusterIP) // jsonpath prints no newline
			return 0
		}
		k.printJSON(k.object(ns, o))
		return 0
	}
	var items []map[string]any
	if !kind.namespaced {
		for _, name := range sortedKeys(k.cl.Namespaces) {
			n := k.cl.Namespaces[name]
			if sel.matches(n.Labels) {
				items = append(items, k.namespaceObject(name, n))
			}
		}
		printList(k, items)
		return 0
	}
	spaces := []string{}
	if all {
		spaces = sortedKeys(k.cl.Namespaces)
	} else {
		ns, code := k.needNamespace()
		if code != 0 {
			return code
		}
		spaces = append(spaces, ns)
	}
	for _, ns := range spaces {
		space, ok := k.cl.Namespaces[ns]
		if !ok {
			continue
		}
		for _, key := range sortedKeys(space.Objects) {
			o := space.Objects[key]
			if o.Kind == kind.kind && sel.matches(o.Labels) {
				items = append(items, k.object(ns, o))
			}
		}
	}
	printList(k, items)
	return 0
}

func (k *kubeCall) needNamespace() (string, int) {
	if k.namespace == "" {
		return "", k.fail("error: the stand-in wants --namespace: claude-bottle names its bottle's always")
	}
	return k.namespace, 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labelSelector is K=V[,K=V…] (equality only: what claude-bottle asks).
type labelSelector map[string]string

func selector(s string) (labelSelector, error) {
	sel := labelSelector{}
	if s == "" {
		return sel, nil
	}
	for _, term := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(term, "=")
		if !ok || k == "" || strings.ContainsAny(k+v, "!()<> ") {
			return nil, fmt.Errorf("the stand-in takes only K=V selectors, got %q", s)
		}
		sel[k] = v
	}
	return sel, nil
}

func (s labelSelector) matches(labels map[string]string) bool {
	for k, v := range s {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// pod finds a Pod of the command's namespace.
func (k *kubeCall) pod(name string) (*KubeObject, int) {
	ns, code := k.needNamespace()
	if code != 0 {
		return nil, code
	}
	if space, ok := k.cl.Namespaces[ns]; ok {
		if o := space.Objects["pod/"+name]; o != nil {
			return o, 0
		}
	}
	return nil, k.fail("Error from server (NotFound): pods %q not found", name) // the API's NotFound through StandardErrorMessage
}

// wait: `wait --for=condition=Ready --timeout=Ns pod/NAME`. The stand-in
// never waits: a Pod is Ready at once or never (fake.answers makes one
// time out).
func (k *kubeCall) wait(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--for", "--timeout"}, nil)
	if code != 0 {
		return code
	}
	if len(rest) != 1 || f.one("--for") != "condition=Ready" {
		return k.fail("error: the stand-in takes only wait --for=condition=Ready --timeout=Ns pod/NAME, got %q", args)
	}
	if t := f.one("--timeout"); t == "" || !strings.HasSuffix(t, "s") {
		return k.fail("error: the stand-in wants --timeout=Ns, got %q", t)
	}
	name, ok := strings.CutPrefix(rest[0], "pod/")
	if !ok {
		return k.fail("error: the stand-in waits only for pod/NAME, got %q", rest[0])
	}
	o, code := k.pod(name)
	if code != 0 {
		return code
	}
	if !o.Ready {
		// k8s.io/kubectl v0.37.2 pkg/cmd/wait/condition.go extendErrWaitTimeout
		// around apimachinery's ErrWaitTimeout.
		return k.fail("error: timed out waiting for the condition on pods/%s", name)
	}
	fmt.Fprintf(k.p.Stdout, "pod/%s condition met\n", name)
	return 0
}

// delete: `delete namespace NAME --ignore-not-found --wait=true`, which
// removes everything in it.
func (k *kubeCall) delete(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--wait"}, []string{"--ignore-not-found"})
	if code != 0 {
		return code
	}
	if len(rest) != 2 || rest[0] != "namespace" {
		return k.fail("error: the stand-in deletes only a namespace, got %q", args)
	}
	if w := f.one("--wait"); w != "" && w != "true" {
		return k.fail("error: the stand-in wants --wait=true, got %q", w)
	}
	name := rest[1]
	if systemNamespaces[name] { // k8s.io/apiserver v0.37.2 pkg/admission/plugin/namespace/lifecycle/admission.go
		return k.fail("Error from server (Forbidden): namespaces %q is forbidden: this namespace may not be deleted", name)
	}
	if _, ok := k.cl.Namespaces[name]; !ok {
		if f.has("--ignore-not-found") {
			return 0
		}
		return k.fail("Error from server (NotFound): namespaces %q not found", name)
	}
	delete(k.cl.Namespaces, name)
	// k8s.io/kubectl v0.37.2 pkg/cmd/delete/delete.go PrintObj: a
	// cluster-scoped object, no "from NS namespace".
	fmt.Fprintf(k.p.Stdout, "namespace %q deleted\n", name)
	return 0
}

// exec: `exec [-i] [-t] POD --container C -- ARGV…`. The agent's session
// commands are answered as the docker stand-in answers them (session.go);
// a tar extraction's stdin is logged (tarlog.go) and its files kept.
func (k *kubeCall) exec(args []string) int {
	dash := -1
	for i, a := range args {
		if a == "--" {
			dash = i
			break
		}
	}
	if dash < 0 {
		// k8s.io/kubectl v0.37.2 pkg/cmd/exec/exec.go Complete.
		return k.fail("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'kubectl exec -h' for help and examples")
	}
	f, rest, code := k.flagsOf(args[:dash], []string{"--container", "-c"}, []string{"-i", "--stdin", "-t", "--tty"})
	if code != 0 {
		return code
	}
	argv := args[dash+1:]
	if len(rest) != 1 { // exec.go Validate, as the two below
		return k.fail("error: pod, type/name or --filename must be specified")
	}
	if len(argv) == 0 {
		return k.fail("error: you must specify at least one command for the container")
	}
	stdin := f.has("-i") || f.has("--stdin")
	tty := f.has("-t") || f.has("--tty")
	// StreamOptions.SetupTTY (exec.go): without -i, -t is dropped silently;
	// with -i and a stdin that is no terminal, dropped with this warning.
	if stdin && tty && !isTerminal(k.p.Stdin) {
		fmt.Fprintln(k.p.Stderr, "Unable to use a TTY - input is not a terminal or the right kind of file")
	}
	o, code := k.pod(rest[0])
	if code != 0 {
		return code
	}
	c := f.one("--container", "-c")
	if c == "" {
		return k.fail("error: the stand-in wants --container: claude-bottle names it always")
	}
	if !contains(o.Containers, c) { // exec.go Run, as the phase below
		return k.fail("error: container %s is not valid for pod %s out of: %s", c, o.Name, strings.Join(o.Containers, ", "))
	}
	if o.Phase != "Running" {
		return k.fail("error: cannot exec into a container in a completed pod; current phase is %s", o.Phase)
	}
	inner := agentArgv(argv)
	if code, ok := session(k.p, &o.Session, inner); ok {
		return code
	}
	if len(argv) > 1 && argv[0] == "tar" && argv[1] == "--extract" && contains(argv, "--file=-") {
		if !stdin {
			return k.fail("error: the stand-in: tar --file=- without -i reads nothing")
		}
		files, err := logTar(k.p.Dir, k.p.Stdin)
		if err != nil {
			fmt.Fprintf(k.p.Stderr, "tar: %v\n", err)
			return 2
		}
		if o.Files == nil {
			o.Files = map[string]string{}
		}
		for name, b := range files {
			o.Files["/"+name] = string(b)
		}
		return 0
	}
	if stdin && k.p.Stdin != nil {
		io.Copy(io.Discard, k.p.Stdin)
	}
	return 0
}

// agentArgv is argv without the `runuser -u USER --` and `env
// --chdir=DIR` an agent-user exec starts with (provision.ExecGuest).
func agentArgv(argv []string) []string {
	argv = runuserArgv(argv)
	if len(argv) > 2 && argv[0] == "env" && strings.HasPrefix(argv[1], "--chdir=") {
		return argv[2:]
	}
	return argv
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// logs: `logs --container=C [--follow] pod/NAME`: the bundle's log.
func (k *kubeCall) logs(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--container", "-c", "--tail"}, []string{"--follow", "-f"})
	if code != 0 {
		return code
	}
	if len(rest) != 1 { // k8s.io/kubectl v0.37.2 pkg/cmd/logs/logs.go logsUsageErrStr
		return k.fail("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples")
	}
	name, _ := strings.CutPrefix(rest[0], "pod/")
	o, code := k.pod(name)
	if code != 0 {
		return code
	}
	if c := f.one("--container", "-c"); c != "" && !contains(o.Containers, c) {
		// k8s.io/kubectl v0.37.2 pkg/polymorphichelpers/logsforobject.go.
		return k.fail("error: container %s is not valid for pod %s out of: %s", c, o.Name, strings.Join(o.Containers, ", "))
	}
	fmt.Fprintln(k.p.Stdout, "[pipelock] listening on 0.0.0.0:8888")
	return 0
}

// auth: `auth can-i VERB RESOURCE [--subresource=S]`: yes (fake.answers
// says no).
func (k *kubeCall) auth(args []string) int {
	if len(args) == 0 || args[0] != "can-i" {
		return k.fail("error: unknown command %q for \"kubectl auth\"", strings.Join(args, " "))
	}
	_, rest, code := k.flagsOf(args[1:], []string{"--subresource"}, nil)
	if code != 0 {
		return code
	}
	if len(rest) != 2 {
		// k8s.io/kubectl v0.37.2 pkg/cmd/auth/cani.go Complete.
		return k.fail("error: you must specify two arguments: verb resource or verb resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples.")
	}
	fmt.Fprintln(k.p.Stdout, "yes")
	return 0
}

// version: `version [--client] --output=json`.
func (k *kubeCall) version(args []string) int {
	f, rest, code := k.flagsOf(args, []string{"--output", "-o"}, []string{"--client"})
	if code != 0 {
		return code
	}
	if len(rest) != 0 || f.one("--output", "-o") != "json" {
		return k.fail("error: the stand-in prints only version --output=json, got %q", args)
	}
	info := map[string]string{"major": "1", "minor": "37", "gitVersion": kubeVersion, "platform": "linux/amd64"}
	v := map[string]any{"clientVersion": info, "kustomizeVersion": "v5.7.1"}
	if !f.has("--client") {
		v["serverVersion"] = info
	}
	k.printJSON(v)
	return 0
}
