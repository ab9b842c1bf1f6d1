package targets

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// owner names a dtask process well enough to tell later whether it still
// runs: the pid alone is not enough (pids are reused, machines reboot), so
// it carries the host name, the kernel's boot id and the process start time.
type owner struct {
	Host  string
	Boot  string // /proc/sys/kernel/random/boot_id, "" where there is none
	PID   int
	Start string // field 22 of /proc/PID/stat, "" where there is none
}

var selfOwner = sync.OnceValue(func() owner {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, _ := procStart(pid)
	return owner{Host: host, Boot: bootID(), PID: pid, Start: start}
})

func (o owner) String() string {
	return fmt.Sprintf("host=%s;boot=%s;pid=%d;start=%s", o.Host, o.Boot, o.PID, o.Start)
}

func parseOwner(s string) (owner, bool) {
	var o owner
	seen := 0
	for part := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return owner{}, false
		}
		switch k {
		case "host":
			o.Host = v
		case "boot":
			o.Boot = v
		case "pid":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return owner{}, false
			}
			o.PID = n
		case "start":
			o.Start = v
		default:
			continue
		}
		seen++
	}
	return o, seen == 4
}

// alive reports whether the process o names still runs. known is false
// when this machine cannot tell (the process ran on another host), in
// which case its objects are left alone.
func (o owner) alive() (alive, known bool) {
	me := selfOwner()
	if o.Host != me.Host {
		return false, false
	}
	if o.Boot != "" && me.Boot != "" && o.Boot != me.Boot {
		return false, true // the machine rebooted since
	}
	if o.Start != "" {
		start, err := procStart(o.PID)
		if err != nil {
			return false, true
		}
		return start == o.Start, true // a different start time: the pid was reused
	}
	err := unix.Kill(o.PID, 0)
	return !errors.Is(err, unix.ESRCH), true
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// procStart returns the start time of process pid in clock ticks since boot.
func procStart(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) may hold spaces and parentheses; fields
	// are counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", errors.New("malformed /proc stat")
	}
	fields := strings.Fields(string(b[i+1:]))
	const startField = 22 - 3 // fields 3.. follow the ')'
	if len(fields) <= startField {
		return "", errors.New("malformed /proc stat")
	}
	return fields[startField], nil
}

// OwnerLabel is the owner label value of process pid on host ("": this
// machine), as a run of dtask labels its objects: the clean-up tests make
// the labels of dead, live and remote runs with it.
func OwnerLabel(host string, pid int) string {
	o := selfOwner()
	if host != "" {
		o.Host = host
	}
	o.PID = pid
	o.Start, _ = procStart(pid)
	return o.String()
}
