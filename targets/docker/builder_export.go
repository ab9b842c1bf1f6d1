package docker

import (
	"regexp"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
)

// exportVertex is the name BuildKit gives the step that writes the image
// into the engine's store and names it (the moby and containerd image
// exporters alike).
const exportVertex = "exporting to image"

// exportDigest reads the digests the image exporter reports as it writes:
// the config on the classic store ("writing image sha256:...", the image
// ID there), the manifest and, with attestations, the index on the
// containerd store ("exporting manifest sha256:...", "exporting manifest
// list sha256:..."; the image ID there is the index's, else the
// manifest's).
var exportDigest = regexp.MustCompile(`^(writing image|exporting manifest list|exporting manifest) (sha256:[0-9a-f]{64})$`)

// exportRank orders what the export reports by how surely it is the
// image ID: higher wins.
func exportRank(what string) int {
	switch what {
	case "writing image":
		return 3
	case "exporting manifest list":
		return 2
	case "exporting manifest":
		return 1
	}
	return 0
}

// exportStatus notes the image ID an export status names.
func (o *BuildOutput) exportStatus(s *controlapi.VertexStatus) {
	m := exportDigest.FindStringSubmatch(s.ID)
	if m == nil || exportRank(m[1]) <= o.bk.writtenRank {
		return
	}
	o.bk.written, o.bk.writtenRank = m[2], exportRank(m[1])
}

// exported tells Exported, once, that the image is in the engine's store
// under its names: the export step completed without an error, having
// reported the image's ID.
func (o *BuildOutput) exported(name, failed string) {
	if o.Exported == nil || o.bk.exported || failed != "" || o.bk.written == "" || !strings.EqualFold(name, exportVertex) {
		return
	}
	o.bk.exported = true
	o.Exported(o.bk.written)
}
