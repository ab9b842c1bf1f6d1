package vars

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Layer is one source of variables; a Scope searches its layers first to last.
type Layer struct {
	Name     string                           // "command line", "environment staging", "vars", "built-in", "process environment"
	Vars     map[string]string                // values; templates when Template is true
	Template bool                             // values may contain ${...} to be expanded in the scope
	Func     func(name string) (string, bool) // lazily computed values (built-ins); used when Vars lacks name
}

func (l *Layer) get(name string) (string, bool) {
	if v, ok := l.Vars[name]; ok {
		return v, true
	}
	if l.Func != nil {
		return l.Func(name)
	}
	return "", false
}

// CycleError is a set of template variables that refer to each other in a loop.
type CycleError struct{ Names []string } // the loop, first name repeated at the end

func (e *CycleError) Error() string {
	return "variable cycle: " + strings.Join(e.Names, " -> ")
}

// Scope resolves names through its layers (first layer wins), expanding
// template values recursively. Resolved values are memoised, so every lookup
// of a name yields the same value for the life of the scope. It is safe for
// concurrent use.
type Scope struct {
	core *scopeCore
	mu   sync.Mutex
	used map[string]string
}

type scopeCore struct {
	layers []Layer
	mu     sync.Mutex // guards everything below and serialises resolution
	memo   map[memoKey]result
	stack  []memoKey // templates being expanded, for cycle detection
}

// memoKey is a name looked up starting at a layer: a self-reference restarts
// the search below the layer that defined it, and may resolve differently.
type memoKey struct {
	name  string
	layer int
}

type result struct {
	val string
	ok  bool
	err error
}

// NewScope makes a scope over layers; the first layer wins.
func NewScope(layers ...Layer) *Scope {
	return &Scope{
		core: &scopeCore{layers: layers, memo: map[memoKey]result{}},
		used: map[string]string{},
	}
}

// Track returns a view of the same scope (same layers, same memoised values)
// with its own, empty Used set: the engine takes one per target so that each
// target's key hashes only the variables it received.
func (s *Scope) Track() *Scope {
	return &Scope{core: s.core, used: map[string]string{}}
}

// Lookup returns name's resolved value and whether it is defined anywhere.
func (s *Scope) Lookup(name string) (string, bool, error) {
	s.core.mu.Lock()
	r := s.core.resolve(name, 0)
	s.core.mu.Unlock()
	if r.ok && r.err == nil {
		s.record(name, r.val)
	}
	return r.val, r.ok, r.err
}

// Expand interpolates str (see Expand) with the names resolved in the scope.
func (s *Scope) Expand(str string) (string, error) {
	nodes, err := parse(str)
	if err != nil {
		return "", err
	}
	return eval(nodes, s.Lookup)
}

// Used returns the names successfully looked up through this Scope value
// (directly or by Expand, not those only reached inside other templates) and
// their values. Names that were unset (a default used instead) are absent.
func (s *Scope) Used() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.used))
	for k, v := range s.used {
		out[k] = v
	}
	return out
}

func (s *Scope) record(name, val string) {
	s.mu.Lock()
	s.used[name] = val
	s.mu.Unlock()
}

// resolve finds name in layers[start:]; c.mu must be held.
func (c *scopeCore) resolve(name string, start int) result {
	key := memoKey{name, start}
	if r, ok := c.memo[key]; ok {
		return r
	}
	r := c.find(name, start)
	c.memo[key] = r
	return r
}

func (c *scopeCore) find(name string, start int) result {
	for i := start; i < len(c.layers); i++ {
		l := &c.layers[i]
		v, ok := l.get(name)
		if !ok {
			continue
		}
		if !l.Template {
			return result{val: v, ok: true}
		}
		return c.expandTemplate(name, i, v)
	}
	return result{}
}

// expandTemplate expands the template v that layer i gives name.
func (c *scopeCore) expandTemplate(name string, i int, v string) result {
	here := memoKey{name, i}
	for j, k := range c.stack {
		if k == here {
			names := make([]string, 0, len(c.stack)-j+1)
			for _, k := range c.stack[j:] {
				names = append(names, k.name)
			}
			return result{ok: true, err: &CycleError{Names: append(names, name)}}
		}
	}
	nodes, err := parse(v)
	if err != nil {
		return result{ok: true, err: c.wrap(name, i, err)}
	}
	c.stack = append(c.stack, here)
	out, err := eval(nodes, func(ref string) (string, bool, error) {
		if ref == name { // a value that names itself means the one further down
			r := c.resolve(name, i+1)
			return r.val, r.ok, r.err
		}
		r := c.resolve(ref, 0)
		return r.val, r.ok, r.err
	})
	c.stack = c.stack[:len(c.stack)-1]
	if err != nil {
		return result{ok: true, err: c.wrap(name, i, err)}
	}
	return result{val: out, ok: true}
}

// wrap says which variable's value failed; a cycle already names them all.
func (c *scopeCore) wrap(name string, i int, err error) error {
	var cyc *CycleError
	if errors.As(err, &cyc) {
		return err
	}
	// A value too long names the variable where it overflowed, once,
	// rather than every variable on the way there.
	var long *TooLongError
	if errors.As(err, &long) {
		if long.Name == "" {
			long.Name = name
		}
		return long
	}
	return fmt.Errorf("%s in %s: %w", name, c.layers[i].Name, err)
}
