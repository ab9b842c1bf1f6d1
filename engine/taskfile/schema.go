package taskfile

import (
	"reflect"
	"slices"
	"strings"
)

// SchemaID names the task file's JSON schema (editors match it by URL
// or by the file's name; see docs/editors in docs/taskfile.md).
const SchemaID = "https://github.com/dtask-dev/dtask/raw/main/docs/taskfile.schema.json"

// Schema returns the JSON schema of the task file, derived from the model
// so that it cannot drift from what Load accepts: every table is closed
// (an unknown key is an error there too).
func Schema() map[string]any {
	defs := map[string]any{}
	root := schemaOf(reflect.TypeFor[File](), defs)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "dtask task file"
	root["description"] = "A dtask task file (Taskfile.toml or dtask.toml). Reference: docs/taskfile.md."
	root["required"] = []string{"version"}
	root["$defs"] = defs
	return root
}

// schemaOf describes type t; named tables go into defs once.
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	switch t {
	case stringListType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}}
	case durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$`}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), defs)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Struct:
		if t == reflect.TypeFor[File]() {
			return tableSchema(t, defs)
		}
		if _, ok := defs[t.Name()]; !ok {
			defs[t.Name()] = nil // placeholder: a type that refers to itself stops here
			defs[t.Name()] = tableSchema(t, defs)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	return map[string]any{}
}

func tableSchema(t reflect.Type, defs map[string]any) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := FieldKey(f)
		if !ok {
			continue
		}
		props[key] = schemaOf(f.Type, defs)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// Keys lists every key a task file can have as a dotted path, a table
// keyed by the user's names written <name> ("targets.<name>.build.context"),
// sorted: what the reference in docs/ must cover.
func Keys() []string {
	var out []string
	keysOf(reflect.TypeFor[File](), "", &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func keysOf(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == stringListType || t == durationType:
		return
	case t.Kind() == reflect.Map && isTable(t.Elem()):
		keysOf(t.Elem(), prefix+".<name>", out)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			key, ok := FieldKey(f)
			if !ok {
				continue
			}
			p := strings.TrimPrefix(prefix+"."+key, ".")
			*out = append(*out, p)
			keysOf(f.Type, p, out)
		}
	}
}
