package fake

import (
	"bytes"
	"strings"
	"testing"
)

// kubectl runs the stand-in in dir with stdin and returns exit code,
// stdout, stderr.
func kubectl(dir, stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run("kubectl", &Proc{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Dir: dir,
		Env: func(string) (string, bool) { return "", false }})
	return code, out.String(), errb.String()
}

func list(items ...string) string {
	return `{"apiVersion":"v1","kind":"List","items":[` + strings.Join(items, ",") + `]}`
}

const (
	nsItem     = `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b1","labels":{"claude-bottle.name":"b"}}}`
	podItem    = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent","namespace":"b1","labels":{"claude-bottle.role":"agent"}},"spec":{"containers":[{"name":"agent","image":"img"}]}}`
	svcItem    = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"bundle","namespace":"b1"},"spec":{"ports":[{"port":8888}]}}`
	secretItem = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"env","namespace":"b1"},"data":{"K":"c2VjcmV0"}}`
	policyItem = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"agent","namespace":"b1"},"spec":{"podSelector":{}}}`
)

// TestKubectlContract: the stand-in answers what kubectl 1.37 answers for
// the commands claude-bottle runs, and refuses what the API server refuses.
func TestKubectlContract(t *testing.T) {
	dir := t.TempDir()
	create := []string{"create", "--filename=-", "--output=name"}
	nsCreate := append([]string{"--namespace", "b1"}, create...)
	steps := []struct {
		what  string
		stdin string
		args  []string
		code  int
		out   string // stdout, exactly ("" and code 0: empty)
		msg   string // in stderr
	}{
		{"a namespaced create before its namespace", list(secretItem), nsCreate, 1, "", `Error from server (NotFound): error when creating "STDIN": namespaces "b1" not found`},
		{"the namespace", list(nsItem), create, 0, "namespace/b1\n", ""},
		{"the namespace again, and a second one after it", list(nsItem, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b2"}}`), create, 1,
			"namespace/b2\n", `Error from server (AlreadyExists): error when creating "STDIN": namespaces "b1" already exists`},
		{"a system namespace", list(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}`), create, 1, "", `namespaces "default" already exists`},
		{"the objects", list(secretItem, policyItem, podItem, svcItem), nsCreate, 0,
			"secret/env\nnetworkpolicy.networking.k8s.io/agent\npod/agent\nservice/bundle\n", ""},
		{"a pod again", list(podItem), nsCreate, 1, "", `Error from server (AlreadyExists): error when creating "STDIN": pods "agent" already exists`},
		{"a pod without containers", list(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}}`), nsCreate, 1, "",
			`The Pod "p" is invalid: spec.containers: Required value`},
		{"a secret not base64", list(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"K":"not base64!"}}`), nsCreate, 1, "",
			`Error from server (BadRequest): error when creating "STDIN": Secret in version "v1" cannot be handled as a Secret: illegal base64 data`},
		{"a namespace name with upper case", list(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"Bad"}}`), create, 1, "",
			`The Namespace "Bad" is invalid: metadata.name: Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"a namespace name too long", list(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + strings.Repeat("a", 64) + `"}}`), create, 1, "", "must be no more than 63 characters"},
		{"a service name that is no DNS-1035 label", list(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"1svc"},"spec":{"ports":[{"port":1}]}}`), nsCreate, 1, "", "a DNS-1035 label"},
		{"an unknown kind", list(`{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d"}}`), nsCreate, 1, "",
			`error: resource mapping not found for name: "d" namespace: "" from "STDIN": no matches for kind "Deployment" in version "v1"`},
		{"two errors", list(`{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d"}}`, podItem), nsCreate, 1, "",
			"resource mapping not found for name: \"d\" namespace: \"\" from \"STDIN\": no matches for kind \"Deployment\" in version \"v1\"\nensure CRDs are installed first\nError from server (AlreadyExists)"},
		{"another namespace than --namespace", list(strings.Replace(secretItem, `"b1"`, `"b2"`, 1)), nsCreate, 1, "",
			`error: the namespace from the provided object "b2" does not match the namespace "b1". You must pass '--namespace=b2' to perform this operation.`},
		{"get an absent namespace, ignored", "", []string{"get", "namespace", "nope", "--ignore-not-found", "--output=json"}, 0, "", ""},
		{"get an absent pod", "", []string{"--namespace", "b1", "get", "pod", "nope", "--output=json"}, 1, "", `Error from server (NotFound): pods "nope" not found`},
		{"the Service's address", "", []string{"--namespace", "b1", "get", "service", "bundle", "--output=jsonpath={.spec.clusterIP}"}, 0, "10.96.0.10", ""},
		{"wait for a pod", "", []string{"--namespace", "b1", "wait", "--for=condition=Ready", "--timeout=5s", "pod/agent"}, 0, "pod/agent condition met\n", ""},
		{"wait for an absent pod", "", []string{"--namespace", "b1", "wait", "--for=condition=Ready", "--timeout=5s", "pod/nope"}, 1, "", `Error from server (NotFound): pods "nope" not found`},
		{"exec without --", "", []string{"--namespace", "b1", "exec", "agent", "--container", "agent", "true"}, 1, "", "exec [POD] [COMMAND] is not supported anymore"},
		{"exec in another container", "", []string{"--namespace", "b1", "exec", "agent", "--container", "x", "--", "true"}, 1, "", "container x is not valid for pod agent out of: agent"},
		{"exec -t without -i: no terminal, no word", "", []string{"--namespace", "b1", "exec", "-t", "agent", "--container", "agent", "--", "true"}, 0, "", ""},
		{"exec -i -t off a terminal", "", []string{"--namespace", "b1", "exec", "-i", "-t", "agent", "--container", "agent", "--", "true"}, 0, "",
			"Unable to use a TTY - input is not a terminal or the right kind of file"},
		{"exec without a command", "", []string{"--namespace", "b1", "exec", "agent", "--container", "agent", "--"}, 1, "", "you must specify at least one command for the container"},
		{"logs of another container", "", []string{"--namespace", "b1", "logs", "--container=bundle", "pod/agent"}, 1, "", "container bundle is not valid for pod agent"},
		{"can-i", "", []string{"auth", "can-i", "create", "pods", "--subresource=exec"}, 0, "yes\n", ""},
		{"an unknown command", "", []string{"apply", "-f", "-"}, 1, "", `error: unknown command "apply" for "kubectl"`},
		{"an unknown global flag", "", []string{"--kubeconfig", "x", "get", "pods"}, 1, "", "unknown flag: --kubeconfig"},
		{"another context knows nothing", "", []string{"--context", "other", "--namespace", "b1", "get", "pod", "agent", "--output=json"}, 1, "", `pods "agent" not found`},
		{"delete the namespace", "", []string{"delete", "namespace", "b1", "--ignore-not-found", "--wait=true"}, 0, "namespace \"b1\" deleted\n", ""},
		{"delete it again, ignored", "", []string{"delete", "namespace", "b1", "--ignore-not-found", "--wait=true"}, 0, "", ""},
		{"delete an absent one", "", []string{"delete", "namespace", "b1", "--wait=true"}, 1, "", `Error from server (NotFound): namespaces "b1" not found`},
		{"its objects are gone", "", []string{"--namespace", "b1", "get", "pod", "agent", "--output=json"}, 1, "", `pods "agent" not found`},
	}
	for _, s := range steps {
		code, out, errb := kubectl(dir, s.stdin, s.args...)
		if code != s.code || out != s.out || !strings.Contains(errb, s.msg) || (s.msg == "" && errb != "") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", s.what, code, out, errb, s.code, s.out, s.msg)
		}
	}
	left, err := Leftovers(dir)
	if err != nil || left != "namespace b2\n" {
		t.Errorf("leftovers %q (%v), want namespace b2", left, err)
	}
}

// TestKubectlGetLists: lists by label, across namespaces, as kubectl -o
// json prints them (a List, also when empty).
func TestKubectlGetLists(t *testing.T) {
	dir := t.TempDir()
	if code, _, errb := kubectl(dir, list(nsItem), "create", "--filename=-", "--output=name"); code != 0 {
		t.Fatal(errb)
	}
	if code, _, errb := kubectl(dir, list(podItem), "--namespace", "b1", "create", "--filename=-", "--output=name"); code != 0 {
		t.Fatal(errb)
	}
	_, out, _ := kubectl(dir, "", "get", "pods", "--all-namespaces", "--selector=claude-bottle.role=agent", "--output=json")
	if !strings.Contains(out, `"kind": "List"`) || !strings.Contains(out, `"phase": "Running"`) || !strings.Contains(out, `"namespace": "b1"`) {
		t.Errorf("get pods:\n%s", out)
	}
	_, out, _ = kubectl(dir, "", "get", "namespaces", "--selector=claude-bottle.name=other", "--output=json")
	if !strings.Contains(out, `"items": []`) {
		t.Errorf("an empty list:\n%s", out)
	}
	_, out, _ = kubectl(dir, "", "get", "namespace", "b1", "--ignore-not-found", "--output=json")
	if !strings.Contains(out, `"claude-bottle.name": "b"`) || !strings.Contains(out, `"kubernetes.io/metadata.name": "b1"`) {
		t.Errorf("get namespace:\n%s", out)
	}
}
