module github.com/claude-bottle/claude-bottle/testimages/pipelock-standin

go 1.26
