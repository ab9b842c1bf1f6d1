package ui

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// grouped shows each target's output as one collapsible group: GitHub
// Actions' ::group:: or GitLab's sections. Groups cannot interleave, so one
// running target at a time streams live inside its open group (a long test
// shows progress as it goes) while the others' output is held and printed
// as a whole group when they end, or when they take over the live slot.
type grouped struct {
	mu      sync.Mutex
	out     io.Writer
	mask    *Masker
	gitlab  bool
	now     func() time.Time
	ws      writers
	targets map[string]*groupTarget
	live    string   // the target streaming inside an open group, or ""
	held    []string // finished blocks waiting for the live group to close
	quiet   quiet
	summary string // GitHub's GITHUB_STEP_SUMMARY file, or ""
}

type groupTarget struct {
	start  time.Time
	reason string
	lines  []string // output held while another target is live
	tail   tail     // for the failure annotation
	opened bool     // its group header is printed and it streams live
}

const tailLines = 20

func newGrouped(out io.Writer, mask *Masker, m Mode, cfg config) *grouped {
	g := &grouped{out: out, mask: mask, gitlab: m == ModeGitLab, now: cfg.now, targets: map[string]*groupTarget{}, quiet: quiet{now: cfg.now}}
	if !g.gitlab {
		g.summary = cfg.getenv("GITHUB_STEP_SUMMARY")
	}
	return g
}

func (g *grouped) Start(target, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := &groupTarget{start: g.now(), reason: g.mask.Mask(reason), tail: tail{n: tailLines}}
	g.targets[target] = t
	g.quiet.heard(target)
	if g.live == "" {
		g.open(target, t)
	}
}

// open prints target's group header and whatever it held, and makes it
// the live target. Callers hold g.mu.
func (g *grouped) open(target string, t *groupTarget) {
	var b strings.Builder
	g.header(&b, target, t, true)
	for _, l := range t.lines {
		b.WriteString(l + "\n")
	}
	t.lines, t.opened, g.live = nil, true, target
	io.WriteString(g.out, b.String())
}

func (g *grouped) header(b *strings.Builder, target string, t *groupTarget, collapsed bool) {
	title := fmt.Sprintf("%s (%s)", target, oneLine(t.reason))
	if g.gitlab {
		opt := ""
		if collapsed {
			opt = "[collapsed=true]"
		}
		fmt.Fprintf(b, "\x1b[0Ksection_start:%d:%s%s\r\x1b[0K%s\n", t.start.Unix(), sectionID(target), opt, title)
		return
	}
	fmt.Fprintf(b, "::group::%s\n", escapeData(title))
}

func (g *grouped) footer(b *strings.Builder, target string) {
	if g.gitlab {
		fmt.Fprintf(b, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), sectionID(target))
		return
	}
	b.WriteString("::endgroup::\n")
}

func (g *grouped) Output(target string) (io.Writer, io.Writer) {
	return g.ws.pair(target, func(line string) { g.line(target, line) })
}

func (g *grouped) line(target, line string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// GitLab renders colours itself; GitHub mode, like plain, carries none.
	line = g.mask.Mask(clean(line, g.gitlab))
	t := g.targets[target]
	if t == nil { // output before Start: show it rather than lose it
		io.WriteString(g.out, "["+target+"] "+line+"\n")
		return
	}
	t.tail.add(clean(line, false))
	g.quiet.heard(target)
	if t.opened {
		io.WriteString(g.out, line+"\n")
		return
	}
	t.lines = append(t.lines, line)
}

// Progress shows in the live group after a silence, as in plain logs;
// held targets' progress would be stale by the time it is shown.
func (g *grouped) Progress(target, msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.targets[target]; t != nil && t.opened && g.quiet.due(target) {
		io.WriteString(g.out, g.mask.Mask(clean(msg, false))+"\n")
	}
}

func (g *grouped) Message(msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.emit(g.mask.Mask(clean(msg, false)) + "\n")
}

// emit prints a block now, or after the live group if one is open.
func (g *grouped) emit(block string) {
	if g.live != "" {
		g.held = append(g.held, block)
		return
	}
	io.WriteString(g.out, block)
}

func (g *grouped) Finish(r *engine.Result) {
	g.ws.flush(r.Target)
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.targets[r.Target]
	delete(g.targets, r.Target)
	g.quiet.forget(r.Target)
	var b strings.Builder
	switch {
	case t == nil: // cached, skipped, not run, failed before it ran: nothing to group
		b.WriteString(g.mask.Mask("["+r.Target+"] "+clean(resultText(r), false)) + "\n")
		if r.Status == engine.Failed && !g.gitlab {
			g.failure(&b, r, &groupTarget{})
		}
		g.emit(b.String())
		return
	case t.opened:
		g.footer(&b, r.Target)
	default:
		g.header(&b, r.Target, t, r.Status != engine.Failed)
		for _, l := range t.lines {
			b.WriteString(l + "\n")
		}
		g.footer(&b, r.Target)
	}
	b.WriteString(g.mask.Mask("["+r.Target+"] "+clean(resultText(r), false)) + "\n")
	if r.Status == engine.Failed {
		g.failure(&b, r, t)
	}
	if !t.opened {
		g.emit(b.String())
		return
	}
	g.closeLive(b.String())
	g.promote()
}

// failure makes a failure visible without opening the group: in GitHub an
// ::error annotation naming the target with its last lines (shown on the
// run's page too); in GitLab, where a section's collapsed state is fixed
// when it starts, the last lines again below a live (collapsed) section.
func (g *grouped) failure(b *strings.Builder, r *engine.Result, t *groupTarget) {
	msg := g.mask.Mask(clean(errText(r), false))
	if !g.gitlab {
		if len(t.tail.lines) > 0 {
			msg += "\n\nLast lines of output:\n" + strings.Join(t.tail.lines, "\n")
		}
		fmt.Fprintf(b, "::error title=%s::%s\n", escapeProperty("dtask: target "+r.Target+" failed"), escapeData(msg))
		return
	}
	if !t.opened { // printed expanded already
		return
	}
	for _, l := range t.tail.lines {
		fmt.Fprintf(b, "[%s] | %s\n", r.Target, l)
	}
}

// promote opens the group of the running target that started first, so
// that something streams live again. Callers hold g.mu.
func (g *grouped) promote() {
	names := make([]string, 0, len(g.targets))
	for n := range g.targets {
		names = append(names, n)
	}
	if len(names) == 0 {
		return
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := g.targets[names[i]], g.targets[names[j]]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return names[i] < names[j]
	})
	g.open(names[0], g.targets[names[0]])
}

func (g *grouped) Summary(results []*engine.Result, elapsed time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.emit(g.mask.Mask(summaryText(results, elapsed)))
	if g.summary != "" && len(results) > 0 {
		g.stepSummary(results, elapsed)
	}
}

// Close ends a group left open by an interrupted run.
func (g *grouped) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.live == "" {
		return
	}
	var b strings.Builder
	g.footer(&b, g.live)
	g.closeLive(b.String())
}

// closeLive prints the live group's last block, then what emit held back
// while the group was open.
func (g *grouped) closeLive(last string) {
	io.WriteString(g.out, last)
	g.live = ""
	for _, h := range g.held {
		io.WriteString(g.out, h)
	}
	g.held = nil
}

// sectionID is a GitLab section name: letters, digits, _ . and -, made
// unique per target.
func sectionID(s string) string {
	return "dtask_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// escapeData escapes a GitHub workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a GitHub workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
