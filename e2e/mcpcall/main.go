// Command mcpcall calls one tool of an MCP server over Streamable HTTP and
// prints the result's text; the end-to-end suite runs it inside a bottle's
// guest to play the agent's side of supervise.
//
//	mcpcall URL TOOL KEY=VALUE...
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: mcpcall URL TOOL KEY=VALUE...")
		os.Exit(2)
	}
	args := map[string]any{}
	for _, kv := range os.Args[3:] {
		k, v, _ := strings.Cut(kv, "=")
		args[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpcall", Version: "v1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: os.Args[1]}, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcpcall: connect %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: os.Args[2], Arguments: args})
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcpcall: call %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			fmt.Println(t.Text)
		}
	}
	if res.IsError {
		os.Exit(3)
	}
}
