package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets tests run this binary as a second dtask process.
func TestMain(m *testing.M) {
	switch os.Getenv("DTASK_CACHE_HELPER") {
	case "hammer":
		helperHammer(os.Args[len(os.Args)-2], os.Args[len(os.Args)-1])
		os.Exit(0)
	case "lock":
		helperLock(os.Args[len(os.Args)-1])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const hammerRounds = 60

// helperHammer writes records and saves the index over and over, as a
// second process would.
func helperHammer(dir, id string) {
	s, err := OpenStore(dir)
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(id)
	var files []string
	for i := range 10 {
		p := filepath.Join(dir, "files", fmt.Sprintf("p%s-%d", id, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(p), 0o644)
		files = append(files, p)
	}
	for round := range hammerRounds {
		if err := s.Put(sampleRecord("t", round%3+n*10)); err != nil {
			panic(err)
		}
		ix := OpenIndex(s.IndexPath())
		for _, f := range files {
			// A new mtime each round makes every Save a real write.
			at := time.Now().Add(-time.Hour - time.Duration(round)*time.Second)
			os.Chtimes(f, at, at)
			if _, err := ix.Hash(f); err != nil {
				panic(err)
			}
		}
		if err := ix.Save(); err != nil {
			panic(err)
		}
	}
}

func helperLock(dir string) {
	s, err := OpenStore(dir)
	if err != nil {
		panic(err)
	}
	unlock, err := s.Lock(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	unlock()
}

func helper(t *testing.T, mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), "DTASK_CACHE_HELPER="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestTwoProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".dtask")
	var cmds []*exec.Cmd
	for _, id := range []string{"1", "2"} {
		cmd := helper(t, "hammer", dir, id)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	done := make(chan error, 2)
	for _, c := range cmds {
		go func() { done <- c.Wait() }()
	}
	// Read while they write: whatever is there is whole.
	s, _ := OpenStore(dir)
	checks := 0
	for finished := 0; finished < 2; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			finished++
		default:
			if data, err := os.ReadFile(s.IndexPath()); err == nil {
				if _, ok := decodeIndex(data); !ok {
					t.Fatal("torn index seen while two processes save it")
				}
				checks++
			}
			recs, _ := filepath.Glob(filepath.Join(dir, "records", "*", "*.rec"))
			for _, r := range recs {
				if _, ok := s.Get(strings.TrimSuffix(filepath.Base(r), ".rec")); !ok {
					t.Fatal("torn record seen while two processes write")
				}
			}
		}
	}
	if checks == 0 {
		t.Log("no index seen during the run")
	}
	ix := OpenIndex(s.IndexPath())
	if ix.count() != 20 {
		t.Errorf("index has %d entries after two processes, want 20 (one lost the other's)", ix.count())
	}
	for _, i := range []int{10, 11, 12, 20, 21, 22} {
		if _, ok := s.Get(sampleRecord("t", i).Key); !ok {
			t.Errorf("record %d missing", i)
		}
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".dtask")
	cmd := helper(t, "lock", dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper said %q", line)
	}
	s, _ := OpenStore(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while another process holds it: %v", err)
	}
	stdin.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	unlock, err := s.Lock(ctx2)
	if err != nil {
		t.Fatalf("Lock after the other process let go: %v", err)
	}
	unlock()
}
