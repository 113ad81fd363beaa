package sidecar

import (
	"io"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func testLogger() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}

func TestStripProxyEnv(t *testing.T) {
	in := []string{"HTTP_PROXY=a", "http_proxy=a", "HTTPS_PROXY=b", "Https_Proxy=b", "NO_PROXY=c", "no_proxy=c",
		"ALL_PROXY=d", "PATH=/bin", "MY_PROXY_SETTING=keep", "GIT_PROXY_COMMAND=keep"}
	got := strings.Join(stripProxyEnv(in), " ")
	if want := "PATH=/bin MY_PROXY_SETTING=keep GIT_PROXY_COMMAND=keep"; got != want {
		t.Errorf("stripProxyEnv = %q, want %q", got, want)
	}
}

func TestCopyLinesPrefixesEveryLine(t *testing.T) {
	var b strings.Builder
	(&lineWriter{w: &b}).copyLines("[x] ", strings.NewReader("one\ntwo\n\nlast without newline"))
	if want := "[x] one\n[x] two\n[x] \n[x] last without newline\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
