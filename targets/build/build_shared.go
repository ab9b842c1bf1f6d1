package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/internal/regularfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/docker"
)

// stageSet is what one save puts in the store beside the image: the
// stages it builds again with cache metadata and those another target of
// the run saves for it.
type stageSet struct {
	tags    map[string]string            // tag -> image ID, for the docker save
	notes   map[string]map[string]string // tag -> annotations to set after it
	temp    []string                     // images built only for the save
	pending []string                     // entries it is to replace
	mine    []sharedStage                // saves it makes for the run's other targets too
	theirs  []sharedStage                // saves another target makes for it
}

// sharedStage is one stage save of a run, by the tag it is (or is to be)
// saved under for this target.
type sharedStage struct {
	save *targets.StageSave
	tag  string
	id   string // mine: the image built, "" when the build failed
}

// saveStages builds again with cache metadata the stages that stageSave
// says to save, each once per run: a stage another build target of the
// run has built for its own save (the same stage of the same Dockerfile,
// context and build args) is taken from that save instead.
func (bl *buildLayers) saveStages(ctx context.Context, cli *docker.Client, c *buildctx.Context, base client.ImageBuildOptions, id string, steps *stageSteps, ss *stageSet) {
	a := bl.a
	for _, s := range bl.stages {
		tag := a.layerTag("stage-" + s)
		save, note := bl.stageSave(tag, s, steps)
		if !save {
			if note != nil {
				ss.notes[tag] = note
			}
			continue
		}
		ss.pending = append(ss.pending, tag)
		var share *targets.StageSave
		if key, ok := bl.stageKey(c, base, s); ok {
			var mine bool
			if share, mine = a.e.ShareStage(key); !mine {
				ss.theirs = append(ss.theirs, sharedStage{save: share, tag: tag})
				ss.notes[tag] = note
				continue
			}
		}
		sid := bl.cacheBuild(ctx, cli, c, base, s)
		if sid != "" {
			ss.tags[tag] = sid
			ss.notes[tag] = note
			if sid != id {
				a.e.HoldImage(sid)
				ss.temp = append(ss.temp, sid)
			}
		}
		if share != nil {
			ss.mine = append(ss.mine, sharedStage{save: share, tag: tag, id: sid})
		}
	}
}

// publish ends the stage saves this save makes for the run, once its
// docker save is done (err: it failed). It is called again, with an error,
// when the save ends early; a save already ended is left as it is.
func (ss *stageSet) publish(err error) {
	for _, m := range ss.mine {
		if err != nil {
			m.id = ""
		}
		m.save.Done(m.id)
	}
	ss.mine = nil
}

// nameShared makes this target's tag of each stage another target saved
// for the run name that entry.
func (bl *buildLayers) nameShared(ctx context.Context, ss *stageSet) error {
	for _, t := range ss.theirs {
		end := bl.a.e.Span("waiting for " + t.tag + ", which another target saves")
		sid, err := t.save.Wait(ctx)
		end()
		if err != nil {
			return err
		}
		if sid == "" {
			return fmt.Errorf("saving %s to the image cache: the target that was to save it failed", t.tag)
		}
		if err := bl.a.e.NameLayers(ctx, t.tag, sid); err != nil {
			return err
		}
	}
	return nil
}

// stageKey describes what decides the image a cache build of stage makes,
// for targets of one run to share it: the Dockerfile, the build options
// but for those a stage build does not take (tags, labels) or that decide
// only where a step comes from and not what it makes (cache sources, each
// target's own), the build args the stage can see, the context as listed
// for the build (Stamp) and the secrets' names. ok is false when the
// Dockerfile cannot be read again: the stage is then not shared.
func (bl *buildLayers) stageKey(c *buildctx.Context, base client.ImageBuildOptions, stage string) (string, bool) {
	src, err := regularfile.Read(c.Dockerfile, buildctx.MaxDockerfile)
	if err != nil {
		return "", false
	}
	unseen, err := unseenArgs(src, stage)
	if err != nil {
		return "", false
	}
	opts := base
	opts.Tags, opts.Labels, opts.CacheFrom, opts.Target = nil, nil, nil, stage
	opts.SessionID, opts.RemoteContext, opts.BuildID, opts.Context = "", "", "", nil
	opts.AuthConfigs = nil // credentials decide whether a pull works, not what it gets
	opts.BuildArgs = maps.Clone(opts.BuildArgs)
	for k := range unseen {
		delete(opts.BuildArgs, k)
	}
	def, err := json.Marshal(opts)
	if err != nil {
		return "", false
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", def, c.Stamp(), bl.a.b.Secrets)
	h.Write(src)
	return hex.EncodeToString(h.Sum(nil)), true
}
