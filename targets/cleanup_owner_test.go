package targets

import (
	"os/exec"
	"testing"
)

func TestOwnerRoundTripAndLiveness(t *testing.T) {
	me := selfOwner()
	o, ok := parseOwner(me.String())
	if !ok || o != me {
		t.Fatalf("parseOwner(%q) = %+v, %v", me.String(), o, ok)
	}
	if alive, known := o.alive(); !alive || !known {
		t.Errorf("this process: alive=%v known=%v", alive, known)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := me
	dead.PID = cmd.Process.Pid
	if alive, known := dead.alive(); alive || !known {
		t.Errorf("exited process: alive=%v known=%v", alive, known)
	}
	reused := me
	reused.Start = "1" // this pid, but a process started at another time
	if alive, _ := reused.alive(); alive && me.Start != "" {
		t.Error("a reused pid counted as alive")
	}
	other := me
	other.Host = me.Host + "-elsewhere"
	if _, known := other.alive(); known {
		t.Error("a process on another host counted as known")
	}
	for _, bad := range []string{"", "pid=1", "host=a;boot=b;pid=x;start=1"} {
		if _, ok := parseOwner(bad); ok {
			t.Errorf("parseOwner(%q) accepted", bad)
		}
	}
}

// deadOwner is the owner label of a process that has exited.
func deadOwner(t *testing.T) owner {
	t.Helper()
	killed := exec.Command("sleep", "60")
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	o := selfOwner()
	o.PID = killed.Process.Pid
	o.Start, _ = procStart(killed.Process.Pid)
	killed.Process.Kill()
	killed.Wait()
	return o
}
