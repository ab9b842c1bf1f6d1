package taskfile

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// decoder fills the model one key at a time, so that one bad value does not
// hide the errors after it (toml.Decode stops at the first).
type decoder struct {
	md     *toml.MetaData
	c      *collector
	failed map[string]bool // key paths already reported; nothing under them is
	// fields memoises tomlFields: ten thousand targets share one type.
	fields map[reflect.Type]map[string]int
}

var (
	unmarshalerType = reflect.TypeFor[toml.Unmarshaler]()
	durationType    = reflect.TypeFor[Duration]()
	stringListType  = reflect.TypeFor[StringList]()
)

func child(path []string, k string) []string {
	return append(path[:len(path):len(path)], k)
}

// tomlFields maps the TOML key of each field of struct type t to its index.
func tomlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := FieldKey(f)
		if !ok {
			continue
		}
		out[name] = i
	}
	return out
}

// table decodes the keys of a TOML table into the struct rv.
func (d *decoder) table(m map[string]toml.Primitive, rv reflect.Value, path []string) {
	fields, ok := d.fields[rv.Type()]
	if !ok {
		fields = tomlFields(rv.Type())
		d.fields[rv.Type()] = fields
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := child(path, k)
		i, ok := fields[k]
		if !ok {
			d.unknown(p, slices.Sorted(maps.Keys(fields)))
			continue
		}
		d.value(m[k], rv.Field(i), p)
	}
}

func (d *decoder) unknown(path []string, known []string) {
	d.failed[keyString(path)] = true
	name := path[len(path)-1]
	where := ""
	if len(path) > 1 {
		where = " in " + keyString(path[:len(path)-1])
	}
	d.c.addAt(path, "unknown key %q%s%s", name, where, didYouMean(name, known))
}

// value decodes prim into fv; it reports false when nothing usable came out.
func (d *decoder) value(prim toml.Primitive, fv reflect.Value, path []string) bool {
	t := fv.Type()
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return d.leaf(prim, fv, path)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		m, ok := d.subtable(prim, path)
		if !ok {
			return false
		}
		nv := reflect.New(t.Elem())
		d.table(m, nv.Elem(), path)
		fv.Set(nv)
	case t.Kind() == reflect.Struct:
		m, ok := d.subtable(prim, path)
		if !ok {
			return false
		}
		d.table(m, fv, path)
	case t.Kind() == reflect.Map && isTable(t.Elem()):
		m, ok := d.subtable(prim, path)
		if !ok {
			return false
		}
		mv := reflect.MakeMapWithSize(t, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ev := reflect.New(t.Elem()).Elem()
			if d.value(m[k], ev, child(path, k)) {
				setName(ev, k)
				mv.SetMapIndex(reflect.ValueOf(k), ev)
			}
		}
		fv.Set(mv)
	default:
		return d.leaf(prim, fv, path)
	}
	return true
}

// isTable: a model struct (or pointer to one) that is decoded key by key.
func isTable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// setName fills the Name field of a target or service from its key.
func setName(v reflect.Value, name string) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if f := v.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String && f.CanSet() {
		f.SetString(name)
	}
}

// subtable decodes a table's keys for the walk. toml would turn a string
// into an empty map without complaint, so the value's type is checked first.
func (d *decoder) subtable(prim toml.Primitive, path []string) (map[string]toml.Primitive, bool) {
	var m map[string]toml.Primitive
	// A key toml typed as a table needs no check: decoding the raw value
	// would build the whole subtree (all the targets, for "targets").
	if d.md.Type(path...) == "Hash" && d.md.PrimitiveDecode(prim, &m) == nil {
		return m, true
	}
	raw := d.raw(prim)
	if _, isTable := raw.(map[string]any); !isTable || d.md.PrimitiveDecode(prim, &m) != nil {
		d.failed[keyString(path)] = true
		d.c.addAt(path, "%s must be a table, not %s", keyString(path), describe(raw))
		return nil, false
	}
	return m, true
}

func (d *decoder) raw(prim toml.Primitive) any {
	var v any
	_ = d.md.PrimitiveDecode(prim, &v)
	return v
}

// leaf decodes a value with toml itself; on failure it says precisely which
// part of the value has the wrong type.
func (d *decoder) leaf(prim toml.Primitive, fv reflect.Value, path []string) bool {
	// Types are checked here rather than left to toml, which lets some
	// mismatches through (a string for a map) and stops at the first.
	raw := d.raw(prim)
	switch {
	case fv.Type() == durationType && !fits(durationType, raw):
		d.badDuration(raw, path)
	case !fits(fv.Type(), raw) && d.typeError(fv.Type(), raw, keyString(path), ancestors(path)):
		// (fits first: naming the keys costs more than checking the value)
	default:
		ptr := reflect.New(fv.Type())
		err := d.md.PrimitiveDecode(prim, ptr.Interface())
		if err == nil {
			fv.Set(ptr.Elem())
			return true
		}
		msg := err.Error()
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		d.c.addAt(path, "%s: %s", keyString(path), strings.TrimPrefix(msg, "toml: "))
	}
	d.failed[keyString(path)] = true
	return false
}

func (d *decoder) badDuration(raw any, path []string) {
	key := keyString(path)
	switch v := raw.(type) {
	case string:
		var dur Duration
		err := dur.UnmarshalText([]byte(v))
		reason := "not a duration"
		if err != nil {
			reason = strings.TrimPrefix(err.Error(), "bad duration "+quote(v)+": ")
		}
		d.c.addAt(path, "bad duration %q in %s: %s", v, key, reason)
	case int64:
		d.c.addAt(path, "bad duration %d in %s: write it as a string with a unit, e.g. \"%ds\"", v, key, v)
	default:
		d.c.addAt(path, "%s must be a duration such as \"60s\", not %s", key, describe(raw))
	}
}

// typeError reports the first part of raw that does not fit t, naming it by
// name and placing it at the first of posKeys found; false if all fits.
func (d *decoder) typeError(t reflect.Type, raw any, name string, posKeys []string) bool {
	if _, isList := raw.([]any); isList && t == stringListType {
		t = reflect.TypeFor[[]string]()
	}
	if t != stringListType {
		switch {
		case t.Kind() == reflect.Slice:
			if items, ok := raw.([]any); ok {
				for i, e := range items {
					if !fits(t.Elem(), e) {
						elem := name + "[" + itoa(i) + "]"
						return d.typeError(t.Elem(), e, elem, append([]string{posKeys[0] + "[" + itoa(i) + "]"}, posKeys...))
					}
				}
				return false
			}
		case t.Kind() == reflect.Map:
			if m, ok := raw.(map[string]any); ok {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if !fits(t.Elem(), m[k]) {
						sub := name + "." + toml.Key{k}.String()
						return d.typeError(t.Elem(), m[k], sub, append([]string{posKeys[0] + "." + toml.Key{k}.String()}, posKeys...))
					}
				}
				return false
			}
		}
	}
	if fits(t, raw) {
		return false
	}
	d.c.add(posKeys, "%s must be %s, not %s", name, expected(t), describe(raw))
	return true
}

// fits reports whether toml can decode raw into a value of type t.
func fits(t reflect.Type, raw any) bool {
	switch {
	case t == stringListType:
		return new(StringList).UnmarshalTOML(raw) == nil
	case t == durationType:
		return new(Duration).UnmarshalTOML(raw) == nil
	}
	switch t.Kind() {
	case reflect.String:
		_, ok := raw.(string)
		return ok
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8,
		reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		_, ok := raw.(int64)
		return ok
	case reflect.Bool:
		_, ok := raw.(bool)
		return ok
	case reflect.Float64, reflect.Float32:
		switch raw.(type) {
		case float64, int64:
			return true
		}
		return false
	case reflect.Slice:
		items, ok := raw.([]any)
		for _, e := range items {
			ok = ok && fits(t.Elem(), e)
		}
		return ok
	case reflect.Map:
		m, ok := raw.(map[string]any)
		for _, v := range m {
			ok = ok && fits(t.Elem(), v)
		}
		return ok
	}
	return true
}

// expected describes what a value of type t looks like in TOML.
func expected(t reflect.Type) string {
	switch {
	case t == stringListType:
		return "a string or a list of strings"
	case t == durationType:
		return `a duration such as "60s"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		return "a table of " + plural(t.Elem())
	case reflect.Struct, reflect.Pointer:
		return "a table"
	}
	if t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 {
		return "an integer"
	}
	return "a " + t.String()
}

func plural(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return "strings"
	case t.Kind() == reflect.Slice:
		return "lists of " + plural(t.Elem())
	case t.Kind() == reflect.Map:
		return "tables of " + plural(t.Elem())
	}
	return strings.TrimPrefix(strings.TrimPrefix(expected(t), "an "), "a ") + "s"
}

// undecoded reports keys toml saw but nothing took that have not been
// reported already: a safety net behind the key-by-key walk.
func (d *decoder) undecoded() {
	for _, k := range d.md.Undecoded() {
		if d.underFailed(k) {
			continue
		}
		d.unknown(k, nil)
	}
}

func (d *decoder) underFailed(k toml.Key) bool {
	for n := len(k); n > 0; n-- {
		if d.failed[keyString(k[:n])] {
			return true
		}
	}
	return false
}
