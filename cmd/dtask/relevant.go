package main

import (
	"errors"
	"strings"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// relevant drops interpolation errors of targets and services this run
// does not need: a deploy target's ${DEPLOY_HOST} set only in
// [environments.staging] must not stop `dtask test`. Everything else in
// the file was already validated in full by Load.
func (p *project) relevant(err error, c *cli) error {
	var errs taskfile.Errors
	if err == nil || !errors.As(err, &errs) {
		return err
	}
	targets, services := p.needed(c)
	var keep taskfile.Errors
	for _, e := range errs {
		kind, name := owner(e.Path)
		switch {
		case kind == "targets" && !targets[name]:
		case kind == "services" && !services[name]:
		default:
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return keep
}

// needed names the targets (goals and their deps) and services a run uses.
// Listing and graphing need none.
func (p *project) needed(c *cli) (map[string]bool, map[string]bool) {
	targets, services := map[string]bool{}, map[string]bool{}
	if c.List || c.Graph != "" || c.Clean {
		return targets, services
	}
	goals := p.cmdGoals
	if len(goals) == 0 && p.raw.Default != "" {
		goals = []string{p.raw.Default}
	}
	names, err := p.raw.Closure(goals)
	if err != nil { // unknown goal: reported later, with a suggestion
		return targets, services
	}
	for _, n := range names {
		targets[n] = true
		for _, s := range p.raw.Targets[n].Services {
			services[s] = true
		}
	}
	return targets, services
}

// owner splits "targets.deploy.deploy.host" into ("targets", "deploy").
func owner(path string) (kind, name string) {
	kind, rest, ok := strings.Cut(path, ".")
	if !ok {
		return path, ""
	}
	if strings.HasPrefix(rest, `"`) {
		if end := strings.Index(rest[1:], `"`); end >= 0 {
			return kind, rest[1 : end+1]
		}
	}
	name, _, _ = strings.Cut(rest, ".")
	return kind, name
}
