package supervise

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/display"
)

// Tool names, as the agent sees them.
const (
	ToolRequestEgress     = "request_egress"
	ToolReportBlock       = "report_block"
	ToolRequestCapability = "request_capability"
)

// Decisions in an Answer.
const (
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
	DecisionTimeout  = "timeout"
)

// EgressInput is request_egress's arguments.
type EgressInput struct {
	Host   string `json:"host" jsonschema:"the bare hostname to allow, e.g. registry.npmjs.org (no scheme, port, path or wildcard)"`
	Reason string `json:"reason" jsonschema:"why you need this host, for the operator"`
}

// BlockInput is report_block's arguments.
type BlockInput struct {
	URL    string `json:"url" jsonschema:"the full URL of the request the proxy blocked"`
	Reason string `json:"reason" jsonschema:"what you were trying to do, for the operator"`
}

// CapabilityInput is request_capability's arguments.
type CapabilityInput struct {
	Description string `json:"description" jsonschema:"what you need, and why, in a few sentences for the operator"`
}

// Answer is what every tool returns: the operator's decision and note.
type Answer struct {
	ID       string `json:"id" jsonschema:"the request's ID, as the operator sees it"`
	Decision string `json:"decision" jsonschema:"approved, denied or timeout (no answer before the deadline; the request stays pending)"`
	Note     string `json:"note,omitempty" jsonschema:"the operator's note, if any"`
	Message  string `json:"message" jsonschema:"the answer in words"`
}

// addTools registers the three tools on srv.
func (s *Server) addTools(srv *mcp.Server) {
	wait := fmt.Sprintf("The call blocks until the operator approves or denies (up to %s) and returns the decision with the operator's note. "+
		"On timeout the request stays pending: call again with the same arguments to keep waiting.", s.opts.Deadline)
	mcp.AddTool(srv, &mcp.Tool{
		Name: ToolRequestEgress,
		Description: "Ask the human operator to allow network access to a host. All traffic goes through an egress proxy " +
			"that only lets allowlisted hosts through; use this when you need a host that is not on the list. " +
			"Give the bare hostname and the reason. " + wait + " Once approved, the host is allowed at once: retry your request.",
	}, s.requestEgress)
	mcp.AddTool(srv, &mcp.Tool{
		Name: ToolReportBlock,
		Description: "Tell the human operator that the egress proxy blocked a request (for example a 403 from the proxy or a " +
			"failed CONNECT), with the full URL and what you were doing. " + wait +
			" If approved, the URL's host is now allowed: retry your request.",
	}, s.reportBlock)
	mcp.AddTool(srv, &mcp.Tool{
		Name: ToolRequestCapability,
		Description: "Ask the human operator for anything other than network access: a tool, a credential, a permission, " +
			"a decision, or an action outside your sandbox. Describe exactly what you need and why. " + wait +
			" The operator's note says what was done or how to proceed.",
	}, s.requestCapability)
}

func (s *Server) requestEgress(ctx context.Context, req *mcp.CallToolRequest, in EgressInput) (*mcp.CallToolResult, Answer, error) {
	if err := errors.Join(checkLen("host", in.Host, MaxHost), checkLen("reason", in.Reason, MaxReason)); err != nil {
		return nil, Answer{}, err
	}
	host, err := NormalizeHost(in.Host)
	if err != nil {
		return nil, Answer{}, err
	}
	return s.ask(ctx, req, Ask{Kind: KindEgress, Subject: host, Host: host, Reason: strings.TrimSpace(in.Reason)})
}

func (s *Server) reportBlock(ctx context.Context, req *mcp.CallToolRequest, in BlockInput) (*mcp.CallToolResult, Answer, error) {
	if err := errors.Join(checkLen("url", in.URL, MaxURL), checkLen("reason", in.Reason, MaxReason)); err != nil {
		return nil, Answer{}, err
	}
	host, err := HostOfURL(in.URL)
	if err != nil {
		return nil, Answer{}, err
	}
	return s.ask(ctx, req, Ask{Kind: KindBlock, Subject: strings.TrimSpace(in.URL), Host: host, Reason: strings.TrimSpace(in.Reason)})
}

func (s *Server) requestCapability(ctx context.Context, req *mcp.CallToolRequest, in CapabilityInput) (*mcp.CallToolResult, Answer, error) {
	if err := checkLen("description", in.Description, MaxDescription); err != nil {
		return nil, Answer{}, err
	}
	d := strings.TrimSpace(in.Description)
	if d == "" {
		return nil, Answer{}, errors.New("description is empty")
	}
	return s.ask(ctx, req, Ask{Kind: KindCapability, Subject: d})
}

// ask queues the request (or joins the open one) and waits for its answer.
func (s *Server) ask(ctx context.Context, req *mcp.CallToolRequest, a Ask) (*mcp.CallToolResult, Answer, error) {
	r, err := s.store.Ask(a, s.now())
	if err != nil {
		return nil, Answer{}, err
	}
	s.log.WithFields(map[string]any{"id": r.ID, "kind": r.Kind, "subject": display.Visible(r.Subject)}).Info("request waiting for the operator")
	ans, err := s.wait(ctx, req, r)
	if err != nil {
		return nil, Answer{}, err
	}
	s.log.WithFields(map[string]any{"id": ans.ID, "decision": ans.Decision}).Info("answered")
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: ans.Message}}}, ans, nil
}

// answerOf turns a decided request into the agent's answer.
func answerOf(r Request) Answer {
	a := Answer{ID: r.ID, Note: r.Note}
	if r.Status == StatusApproved {
		a.Decision = DecisionApproved
		a.Message = fmt.Sprintf("Approved (%s).", r.ID)
		if r.Host != "" {
			a.Message = fmt.Sprintf("Approved (%s): %s is now on the proxy's allowlist; retry your request.", r.ID, r.Host)
		}
	} else {
		a.Decision = DecisionDenied
		a.Message = fmt.Sprintf("Denied (%s): do not retry this; find another way or stop.", r.ID)
	}
	if r.Note != "" {
		a.Message += " Operator's note: " + r.Note
	}
	return a
}

// timeoutAnswer is the answer when nobody decided before the deadline.
func timeoutAnswer(r Request, after time.Duration) Answer {
	return Answer{ID: r.ID, Decision: DecisionTimeout, Message: fmt.Sprintf(
		"No answer from the operator within %s; %s is still pending. Call again with the same arguments to keep waiting, or carry on without it.",
		after, r.ID)}
}
