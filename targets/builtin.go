package targets

// Builtin lists the kinds still implemented in this package.
func Builtin() []Kind {
	return []Kind{
		{"sh", newSh},
		{"group", newGroup},
		{"run", newRun},
		{"deploy", newDeploy},
	}
}
