package targets

import (
	"maps"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/engine"
)

// What each kind of target produced, typed. A record keeps outputs as
// engine.Outputs (a string map, the same for every kind); this file is
// the one place that converts between the two, so the keys are named
// here only.

// BuildOutput is what a build target produced: the image's ID and the
// tags it was given.
type BuildOutput struct {
	ImageID string
	Tags    []string
}

// Outputs is o as a record keeps it.
func (o BuildOutput) Outputs() engine.Outputs {
	return engine.Outputs{"image": o.ImageID, "tags": strings.Join(o.Tags, ",")}
}

// BuildOutputOf reads a build's (or a push's) record.
func BuildOutputOf(out engine.Outputs) BuildOutput {
	return BuildOutput{ImageID: out["image"], Tags: splitList(out["tags"])}
}

// PushOutput is what a push target produced: the image pushed, the
// digest each tag (as written in the task file) was pushed as, the first
// of them, and the tags as the engine names them.
type PushOutput struct {
	ImageID string
	Digest  string
	Digests map[string]string
	Tags    []string
}

// Outputs is o as a record keeps it.
func (o PushOutput) Outputs() engine.Outputs {
	out := BuildOutput{ImageID: o.ImageID, Tags: o.Tags}.Outputs()
	if len(o.Tags) > 0 || o.Digest != "" {
		out["digest"] = o.Digest
	}
	for tag, d := range o.Digests {
		out["digest."+tag] = d
	}
	return out
}

// PushOutputOf reads a push's record.
func PushOutputOf(out engine.Outputs) PushOutput {
	b := BuildOutputOf(out)
	o := PushOutput{ImageID: b.ImageID, Tags: b.Tags, Digest: out["digest"], Digests: map[string]string{}}
	for _, k := range slices.Sorted(maps.Keys(out)) {
		if tag, ok := strings.CutPrefix(k, "digest."); ok {
			o.Digests[tag] = out[k]
		}
	}
	return o
}

// DigestOf is the digest tag was pushed as (records of one tag may keep
// only Digest).
func (o PushOutput) DigestOf(tag string) string {
	if d := o.Digests[tag]; d != "" {
		return d
	}
	return o.Digest
}

// DeployOutput is what a deploy target produced: the container on Host,
// the image as the task file names it and its ID, and the hash of the
// definition the container was made from.
type DeployOutput struct {
	Container, Image, ImageID, Def, Host string
}

// Outputs is o as a record keeps it.
func (o DeployOutput) Outputs() engine.Outputs {
	return engine.Outputs{"container": o.Container, "image": o.Image, "image_id": o.ImageID, "def": o.Def, "host": o.Host}
}

// DeployOutputOf reads a deploy's record.
func DeployOutputOf(out engine.Outputs) DeployOutput {
	return DeployOutput{Container: out["container"], Image: out["image"], ImageID: out["image_id"], Def: out["def"], Host: out["host"]}
}

// ReportPrefix starts the record keys of a run target's reports:
// "report:/out/junit.xml" -> the file's name in the state folder's reports.
const ReportPrefix = "report:"

// RunOutput is what a run target produced: its reports, by their path in
// the container, each the name of the file kept in the state folder.
type RunOutput struct {
	Reports map[string]string
}

// Outputs is o as a record keeps it.
func (o RunOutput) Outputs() engine.Outputs {
	out := engine.Outputs{}
	for p, stored := range o.Reports {
		out[ReportPrefix+p] = stored
	}
	return out
}

// RunOutputOf reads a run's record.
func RunOutputOf(out engine.Outputs) RunOutput {
	o := RunOutput{Reports: map[string]string{}}
	for k, v := range out {
		if p, ok := strings.CutPrefix(k, ReportPrefix); ok {
			o.Reports[p] = v
		}
	}
	return o
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
