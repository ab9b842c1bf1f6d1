package run

import (
	"slices"
	"testing"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

func TestLoopbackPortsPublishesWhatIsNotPublished(t *testing.T) {
	svc := &taskfile.Service{Ports: []string{"8080:80", "127.0.0.1:9000:9000/udp"}, Ready: &taskfile.Ready{TCP: 5432}}
	got := loopbackPorts(svc, []int{80, 6379, 5432})
	want := []string{"127.0.0.1::5432", "127.0.0.1::6379"}
	if !slices.Equal(got, want) {
		t.Errorf("loopbackPorts = %v, want %v", got, want)
	}
}

func TestServiceEnvNamesPorts(t *testing.T) {
	svc := &taskfile.Service{Name: "my-db", Ports: []string{"3306"}}
	got := serviceEnv(svc, map[int]string{3306: "49001", 33060: "49002"})
	want := []string{
		"DTASK_SERVICE_MY_DB_HOST=127.0.0.1",
		"DTASK_SERVICE_MY_DB_PORT=49001",
		"DTASK_SERVICE_MY_DB_PORT_3306=49001",
		"DTASK_SERVICE_MY_DB_PORT_33060=49002",
	}
	if !slices.Equal(got, want) {
		t.Errorf("serviceEnv = %v, want %v", got, want)
	}
	// ready.tcp wins over the declared ports; without either, the lowest.
	svc = &taskfile.Service{Name: "kv", Ports: []string{"1"}, Ready: &taskfile.Ready{TCP: 6379}}
	if p := mainPort(svc, map[int]string{1: "5", 6379: "7"}); p != 6379 {
		t.Errorf("mainPort with ready.tcp = %d", p)
	}
	if p := mainPort(&taskfile.Service{}, map[int]string{9000: "5", 80: "7"}); p != 80 {
		t.Errorf("mainPort without = %d", p)
	}
}

func TestDependenciesStartFirstInLevels(t *testing.T) {
	all := map[string]*taskfile.Service{
		"app":   {Name: "app", DependsOn: []string{"db", "cache"}},
		"db":    {Name: "db"},
		"cache": {Name: "cache", DependsOn: []string{"db"}},
	}
	names := withDependencies(all, []string{"app"})
	if !slices.Equal(names, []string{"db", "cache", "app"}) {
		t.Fatalf("withDependencies = %v", names)
	}
	var jobs []svcJob
	for _, n := range names {
		jobs = append(jobs, svcJob{svc: all[n]})
	}
	var got [][]string
	for _, l := range levels(jobs) {
		var ns []string
		for _, j := range l {
			ns = append(ns, j.svc.Name)
		}
		got = append(got, ns)
	}
	if len(got) != 3 || got[0][0] != "db" || got[1][0] != "cache" || got[2][0] != "app" {
		t.Errorf("levels = %v", got)
	}
	// A running dependency (not in jobs) does not hold a level back.
	if l := levels([]svcJob{{svc: all["app"]}}); len(l) != 1 {
		t.Errorf("levels with running deps = %d levels", len(l))
	}
}

func TestCacheVolumeNamePerProjectAndPath(t *testing.T) {
	a := &targets.Env{Project: "aaaaaaaaaaaa"}
	b := &targets.Env{Project: "bbbbbbbbbbbb"}
	if CacheVolume(a, "/root/.cache/go-build") != CacheVolume(a, "/root/.cache/go-build/") {
		t.Error("the same folder gets two volumes")
	}
	if CacheVolume(a, "/go/pkg/mod") == CacheVolume(a, "/root/.cache/go-build") {
		t.Error("two folders share a volume")
	}
	if CacheVolume(a, "/go/pkg/mod") == CacheVolume(b, "/go/pkg/mod") {
		t.Error("two projects share a volume")
	}
}
