package compose

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v4"
)

// keyAt says where the key at path (e.g. services, db, deploy) is written
// in file, as "file:line:col", or just file when it cannot be placed. The
// loaded model has no positions, so the file is read again as YAML nodes
// by the library compose-go itself uses.
func keyAt(path, name string, keys ...string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return name
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return name
	}
	n := doc.Content[0]
	for i, k := range keys {
		kn, vn := lookup(n, k)
		if kn == nil {
			return name
		}
		if i == len(keys)-1 {
			return fmt.Sprintf("%s:%d:%d", name, kn.Line, kn.Column)
		}
		n = vn
	}
	return name
}

// lookup returns the key and value nodes of k in the mapping n.
func lookup(n *yaml.Node, k string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
