package docker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// traceLine is one moby.buildkit.trace message of a build stream.
func traceLine(t *testing.T, st *controlapi.StatusResponse) string {
	t.Helper()
	raw, err := proto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	aux, _ := json.Marshal(raw) // base64, as the engine sends it
	return `{"id":"moby.buildkit.trace","aux":` + string(aux) + "}\n"
}

// Exported is called once, when the export step completes, with the
// image ID the export reported, and before the stream ends; a failed
// export calls nothing.
func TestBuildOutputExported(t *testing.T) {
	now := timestamppb.New(time.Now())
	exp := "sha256:" + strings.Repeat("ab", 32)
	other := "sha256:" + strings.Repeat("cd", 32)
	vtx := func(name string, done bool, failed string) *controlapi.StatusResponse {
		v := &controlapi.Vertex{Digest: "d-" + name, Name: name, Started: now, Error: failed}
		if done {
			v.Completed = now
		}
		return &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{v}}
	}
	status := &controlapi.StatusResponse{Statuses: []*controlapi.VertexStatus{
		{ID: "exporting layers", Vertex: "d-exporting to image"},
		{ID: "exporting manifest " + exp, Vertex: "d-exporting to image"},
		{ID: "exporting config " + other, Vertex: "d-exporting to image"},
		{ID: "exporting attestation manifest " + other, Vertex: "d-exporting to image"},
	}}
	for _, tc := range []struct {
		failed string
		want   bool
	}{{"", true}, {"failed to name image", false}} {
		var got []string
		var ended bool
		o := &BuildOutput{Exported: func(id string) {
			if ended {
				t.Error("Exported after the stream ended")
			}
			got = append(got, id)
		}}
		stream := traceLine(t, vtx("[1/2] RUN true", true, "")) + traceLine(t, vtx("exporting to image", false, "")) +
			traceLine(t, status) + traceLine(t, vtx("exporting to image", true, tc.failed)) +
			traceLine(t, vtx("exporting to image", true, tc.failed)) + `{"aux":{"ID":"` + exp + `"}}` + "\n"
		err := o.Decode(strings.NewReader(stream))
		ended = true
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want {
			if len(got) != 0 {
				t.Errorf("failed export: Exported(%v)", got)
			}
			continue
		}
		if len(got) != 1 || got[0] != exp {
			t.Errorf("Exported calls %v; want one with %s", got, exp)
		}
		if o.ImageID != exp {
			t.Errorf("ImageID %q", o.ImageID)
		}
	}
}

// The image ID is the config's on the classic store ("writing image"), the
// index's when the containerd store's export made one, else the manifest's.
func TestExportStatusImageID(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{[]string{"exporting layers", "writing image " + d("a"), "naming to docker.io/x:1"}, d("a")},
		{[]string{"exporting manifest " + d("b"), "exporting config " + d("c"), "naming to docker.io/x:1"}, d("b")},
		{[]string{"exporting manifest " + d("b"), "exporting attestation manifest " + d("e"), "exporting manifest list " + d("f")}, d("f")},
		{[]string{"exporting layers"}, ""},
	} {
		o := &BuildOutput{}
		for _, id := range tc.ids {
			o.exportStatus(&controlapi.VertexStatus{ID: id})
		}
		if o.bk.written != tc.want {
			t.Errorf("%q: image ID %q, want %q", tc.ids, o.bk.written, tc.want)
		}
	}
}
