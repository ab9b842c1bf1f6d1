package targets

import (
	"reflect"
	"testing"

	"github.com/dtask-dev/dtask/engine"
)

// The record keys are what older records hold: a typed output must read
// them back as it wrote them, and write the keys other code reads.
func TestOutputsRoundTripThroughTheRecord(t *testing.T) {
	b := BuildOutput{ImageID: "sha256:abc", Tags: []string{"app:1", "app:latest"}}
	if got := b.Outputs(); !reflect.DeepEqual(got, engine.Outputs{"image": "sha256:abc", "tags": "app:1,app:latest"}) {
		t.Errorf("build outputs = %v", got)
	}
	if got := BuildOutputOf(b.Outputs()); !reflect.DeepEqual(got, b) {
		t.Errorf("build round trip = %+v, want %+v", got, b)
	}
	p := PushOutput{ImageID: "sha256:abc", Digest: "sha256:d1", Digests: map[string]string{"r/a:1": "sha256:d1", "r/b:1": "sha256:d2"}, Tags: []string{"r/a:1", "r/b:1"}}
	if got := PushOutputOf(p.Outputs()); !reflect.DeepEqual(got, p) {
		t.Errorf("push round trip = %+v, want %+v", got, p)
	}
	if d := PushOutputOf(engine.Outputs{"digest": "sha256:only"}).DigestOf("r/a:1"); d != "sha256:only" {
		t.Errorf("a record with one digest: DigestOf = %q", d)
	}
	d := DeployOutput{Container: "c1", Image: "app:1", ImageID: "sha256:abc", Def: "h", Host: "ssh://x"}
	if got := DeployOutputOf(d.Outputs()); got != d {
		t.Errorf("deploy round trip = %+v, want %+v", got, d)
	}
	r := RunOutput{Reports: map[string]string{"/out/junit.xml": "0a.xml"}}
	if got := r.Outputs(); got["report:/out/junit.xml"] != "0a.xml" || len(got) != 1 {
		t.Errorf("run outputs = %v", got)
	}
}

func TestRecordedImageIDReadsBuildAndPushRecords(t *testing.T) {
	deps := map[string]engine.Outputs{
		"img":  BuildOutput{ImageID: "sha256:b", Tags: []string{"app:dev"}}.Outputs(),
		"pub":  PushOutput{ImageID: "sha256:p", Tags: []string{"reg/app:1"}}.Outputs(),
		"prod": DeployOutput{Image: "app:dev", ImageID: "sha256:x"}.Outputs(),
	}
	for ref, want := range map[string]string{"app:dev": "sha256:b", "reg/app:1": "sha256:p", "sha256:b": "sha256:b", "other:1": ""} {
		if got := RecordedImageID(ref, deps); got != want {
			t.Errorf("RecordedImageID(%q) = %q, want %q", ref, got, want)
		}
	}
}
