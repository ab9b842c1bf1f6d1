package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/vars"
	"github.com/dtask-dev/dtask/internal/remotecache"
)

// optString is a flag whose presence counts even when its value is empty:
// --remote-cache= turns the team cache off.
type optString struct {
	Set   bool
	Value string
}

// Decode notes that the flag was given, then reads its value.
func (o *optString) Decode(ctx *kong.DecodeContext) error {
	o.Set = true
	return ctx.Scan.PopValueInto("value", &o.Value)
}

// teamConfig resolves the team cache from --remote-cache, DTASK_REMOTE_CACHE
// and [cache] remote, and the mode from --remote-cache-mode or the build.
func teamConfig(c *cli, p *dproject) (remotecache.Config, error) {
	env, envSet := os.LookupEnv("DTASK_REMOTE_CACHE")
	ci := vars.DetectCI(os.Getenv)
	cfg, err := remotecache.Resolve(remotecache.Sources{
		FlagSet: c.RemoteCache.Set, FlagRef: c.RemoteCache.Value,
		EnvSet: envSet, Env: env,
		File: p.File.Cache.Remote, Mode: c.RemoteCacheMode,
		PullRequest: vars.IsPullRequest(ci, os.Getenv), PullRequestSource: ci.Provider,
	})
	if err != nil {
		return cfg, &usageError{msg: err.Error()}
	}
	return cfg, nil
}

// useTeamCache puts the team cache behind r's local store and gives the
// Docker actions its images. It returns nil when the run uses none.
func useTeamCache(ctx context.Context, c *cli, p *dproject, r *engine.Runner, disp ui.Display) (*remotecache.Tier, error) {
	cfg, err := teamConfig(c, p)
	if err != nil || !cfg.Enabled() || c.NoCache {
		return nil, err
	}
	reg, err := remotecache.Open(cfg)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	tier := remotecache.NewTier(ctx, r.Store, reg, cfg.Mode, p.Env, disp.Message)
	tier.KeepHits = !c.DryRun
	r.Records = tier
	p.Env.UseTeamCache(tier)
	if c.Verbose {
		msg := fmt.Sprintf("remote cache %s (%s)", reg.Name(), cfg.Mode)
		if cfg.Why != "" {
			msg += ": " + cfg.Why
		}
		disp.Message(msg)
	}
	return tier, nil
}

// finishTeamCache waits for what the run publishes and says what went.
func finishTeamCache(tier *remotecache.Tier, disp ui.Display) {
	if tier == nil {
		return
	}
	if msg := tier.Wait(); msg != "" {
		disp.Message(msg)
	}
}

// explain prints which labelled lines of target's key differ from the
// nearest record: this machine's latest or the team cache's.
func explain(ctx context.Context, target string, results []*engine.Result, local *cache.Store, tier *remotecache.Tier, w io.Writer) {
	var res *engine.Result
	for _, r := range results {
		if r.Target == target {
			res = r
		}
	}
	var lines []cache.Line
	if res != nil {
		lines = res.Lines()
	}
	if len(lines) == 0 {
		fmt.Fprintf(w, "explain %s: not planned (%s)\n", target, reasonOf(res))
		return
	}
	type cand struct {
		where string
		rec   *cache.Record
	}
	var cands []cand
	if rec, ok := local.Last(target); ok {
		cands = append(cands, cand{"this machine's latest", rec})
	}
	if tier != nil {
		if hit, ok, err := tier.Registry().Latest(ctx, target); err == nil && ok {
			cands = append(cands, cand{"the remote cache's latest (" + tier.Registry().Name() + ")", hit.Record})
		} else if err != nil {
			fmt.Fprintf(w, "warning: %v\n", err)
		}
	}
	fmt.Fprintf(w, "explain %s: %s (key %s)\n", target, res.Status, shortKey(res.Key))
	if len(cands) == 0 {
		fmt.Fprintln(w, "  no record of it here or in a remote cache")
		return
	}
	best, bestDiff := cands[0], cache.Diff(cands[0].rec.Lines, lines)
	for _, c := range cands[1:] {
		if d := cache.Diff(c.rec.Lines, lines); len(d) < len(bestDiff) {
			best, bestDiff = c, d
		}
	}
	fmt.Fprintf(w, "  nearest record: %s, key %s, %s\n", best.where, shortKey(best.rec.Key), best.rec.Time.Local().Format("2006-01-02 15:04:05"))
	if len(bestDiff) == 0 {
		fmt.Fprintln(w, "  same key lines")
	}
	for _, d := range bestDiff {
		fmt.Fprintln(w, "  "+d)
	}
}

func reasonOf(res *engine.Result) string {
	if res == nil {
		return "not in this run"
	}
	return strings.TrimSpace(res.Status.String() + " " + res.Reason)
}

func shortKey(k string) string {
	if len(k) > 12 {
		return k[:12]
	}
	return k
}

// pruneTeamCache applies [cache] remote_keep and remote_max_age to the
// team cache, when one is set.
func pruneTeamCache(ctx context.Context, c *cli, p *dproject, stdout io.Writer) error {
	cfg, err := teamConfig(c, p)
	if err != nil || cfg.Repo == "" || cfg.Mode != remotecache.ModeReadWrite {
		return err
	}
	reg, err := remotecache.Open(cfg)
	if err != nil {
		return err
	}
	res, err := reg.Prune(ctx, p.File.Cache.RemoteKeep, p.File.Cache.RemoteMaxAge.Duration, time.Now())
	if err != nil {
		fmt.Fprintf(stdout, "warning: %v\n", err)
		return nil
	}
	fmt.Fprintf(stdout, "remote cache %s: removed %d record(s) and %d image(s), kept %d record(s)\n", reg.Name(), res.Records, res.Images, res.Kept)
	return nil
}
