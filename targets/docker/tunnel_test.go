package docker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestReverseTunnelToNoServerFails: ssh that cannot connect is an error
// that says what ssh said (the deploy then copies the image).
func TestReverseTunnelToNoServerFails(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	_, _, err := ReverseTunnel(context.Background(), "ssh://nobody@127.0.0.1:1", "127.0.0.1:5000")
	if err == nil || !strings.Contains(err.Error(), "no forwarded port") {
		t.Fatalf("err %v, want no forwarded port", err)
	}
	if _, _, err := ReverseTunnel(context.Background(), "ssh://h/some/path", "127.0.0.1:5000"); err == nil {
		t.Fatal("a bad ssh host was accepted")
	}
}
