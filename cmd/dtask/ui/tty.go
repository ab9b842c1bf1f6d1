package ui

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"golang.org/x/term"

	"github.com/dtask-dev/dtask/engine"
)

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// tty shows one live line per running target (spinner, elapsed time, last
// progress) below the targets' streamed output.
type tty struct {
	mu      sync.Mutex
	out     io.Writer
	mask    *Masker
	verbose bool
	st      styles
	running map[string]*ttyTarget
	drawn   int // status lines currently on screen
	frame   int
	color   bool
	now     func() time.Time
	ws      writers
	stop    chan struct{}
	done    chan struct{}
}

type ttyTarget struct {
	start    time.Time
	progress string
	tail     tail
}

type styles struct {
	name, dim, ok, cached, fail, skip lipgloss.Style
}

// newStyles styles for out; with NO_COLOR set (to anything but "", as
// no-color.org says) no colour or emphasis at all.
func newStyles(out io.Writer, noColor, force bool) styles {
	r := lipgloss.NewRenderer(out)
	switch {
	case noColor:
		r.SetColorProfile(termenv.Ascii)
	case force:
		r.SetColorProfile(termenv.ANSI)
	}
	return styles{
		name:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		dim:    r.NewStyle().Faint(true),
		ok:     r.NewStyle().Foreground(lipgloss.Color("10")),
		cached: r.NewStyle().Foreground(lipgloss.Color("14")),
		fail:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("9")),
		skip:   r.NewStyle().Foreground(lipgloss.Color("11")),
	}
}

func newTTY(out io.Writer, mask *Masker, cfg config) *tty {
	noColor := cfg.getenv("NO_COLOR") != ""
	t := &tty{out: out, mask: mask, verbose: cfg.verbose, st: newStyles(out, noColor, cfg.forceColor), color: !noColor, now: cfg.now,
		running: map[string]*ttyTarget{}, stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.animate {
		go t.tick()
	} else {
		close(t.done)
	}
	return t
}

func (t *tty) tick() {
	defer close(t.done)
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			t.frame++
			t.redraw(nil)
			t.mu.Unlock()
		}
	}
}

func (t *tty) width() int {
	if f, ok := t.out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 10 {
			return w
		}
	}
	return 80
}

// redraw clears the status lines, prints above any new lines, and draws
// the status lines again. Callers hold t.mu.
func (t *tty) redraw(above []string) {
	var b strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dF\x1b[J", t.drawn)
	}
	for _, l := range above {
		b.WriteString(l)
		b.WriteString("\n")
	}
	names := make([]string, 0, len(t.running))
	for n := range t.running {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := t.running[names[i]], t.running[names[j]]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return names[i] < names[j]
	})
	w := t.width()
	for _, n := range names {
		rt := t.running[n]
		line := fmt.Sprintf("%s %s %s", spinner[t.frame%len(spinner)], t.st.name.Render(n),
			t.st.dim.Render(duration(t.now().Sub(rt.start).Truncate(100*time.Millisecond))))
		if rt.progress != "" {
			line += " " + t.st.dim.Render(rt.progress)
		}
		b.WriteString(truncate(line, w-1))
		b.WriteString("\n")
	}
	t.drawn = len(names)
	io.WriteString(t.out, b.String())
}

// truncate cuts a styled line to w visible cells.
func truncate(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return lipglossTruncate(s, w)
}

func lipglossTruncate(s string, w int) string {
	return lipgloss.NewStyle().MaxWidth(w).Render(s)
}

func (t *tty) Start(target, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Until the action reports progress, the status line says why it runs.
	t.running[target] = &ttyTarget{start: t.now(), tail: tail{n: 15}, progress: t.mask.Mask(clean(reason, false))}
	if t.verbose {
		t.redraw([]string{t.st.dim.Render(t.mask.Mask(fmt.Sprintf("%s: running: %s", target, reason)))})
	}
}

func (t *tty) Output(target string) (io.Writer, io.Writer) {
	return t.ws.pair(target, func(l string) { t.line(target, l) })
}

func (t *tty) line(target, l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Colours pass (unless NO_COLOR); cursor movement would garble the
	// status lines.
	l = t.mask.Mask(clean(l, t.color))
	if rt := t.running[target]; rt != nil {
		rt.tail.add(l)
	}
	t.redraw([]string{t.st.name.Render(target) + t.st.dim.Render(" │ ") + l})
}

func (t *tty) Progress(target, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt := t.running[target]; rt != nil {
		rt.progress = t.mask.Mask(clean(msg, false))
	}
}

func (t *tty) Message(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.redraw([]string{t.mask.Mask(clean(msg, t.color))})
}

func (t *tty) Finish(r *engine.Result) {
	t.ws.flush(r.Target)
	t.mu.Lock()
	defer t.mu.Unlock()
	rt := t.running[r.Target]
	delete(t.running, r.Target)
	lines := []string{t.resultLine(r)}
	if r.Status == engine.Failed && rt != nil && len(rt.tail.lines) > 0 {
		for _, l := range rt.tail.lines {
			lines = append(lines, t.st.fail.Render("  │ ")+l)
		}
	}
	t.redraw(lines)
}

func (t *tty) resultLine(r *engine.Result) string {
	name := t.st.name.Render(r.Target)
	switch r.Status {
	case engine.Ran:
		return t.st.ok.Render("✓ ") + name + " " + t.st.dim.Render(duration(r.Duration))
	case engine.Cached:
		return t.st.cached.Render("• ") + name + t.st.dim.Render(" cached"+t.mask.Mask(cachedNote(r)))
	case engine.Failed:
		return t.st.fail.Render("✗ ") + name + " " + t.st.fail.Render(t.mask.Mask(errText(r)))
	case engine.WouldRun:
		return t.st.skip.Render("→ ") + name + t.st.dim.Render(" would run: "+t.mask.Mask(r.Reason))
	}
	return t.st.skip.Render("- ") + name + t.st.dim.Render(" "+r.Status.String()+": "+t.mask.Mask(r.Reason))
}

func (t *tty) Summary(results []*engine.Result, elapsed time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(results) == 0 {
		return
	}
	rows := summaryRows(results)
	widths := make([]int, 4)
	for _, row := range append([][]string{{"TARGET", "RESULT", "TIME", "DETAIL"}}, rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	pad := func(s string, w int) string { return s + strings.Repeat(" ", w-lipgloss.Width(s)) }
	out := []string{"", t.st.dim.Render(pad("TARGET", widths[0]) + "  " + pad("RESULT", widths[1]) + "  " + pad("TIME", widths[2]) + "  DETAIL")}
	for i, row := range rows {
		st := t.statusStyle(results[i].Status)
		out = append(out, pad(row[0], widths[0])+"  "+st.Render(pad(row[1], widths[1]))+"  "+pad(row[2], widths[2])+"  "+t.st.dim.Render(t.mask.Mask(row[3])))
	}
	out = append(out, t.st.dim.Render(counts(results)+" in "+duration(elapsed)))
	t.redraw(out)
}

func (t *tty) statusStyle(s engine.Status) lipgloss.Style {
	switch s {
	case engine.Ran:
		return t.st.ok
	case engine.Cached:
		return t.st.cached
	case engine.Failed, engine.NotRun:
		return t.st.fail
	}
	return t.st.skip
}

func (t *tty) Close() {
	select {
	case <-t.stop:
		return
	default:
	}
	close(t.stop)
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running = map[string]*ttyTarget{}
	t.redraw(nil)
}
