package targets

// GitSHA is the revision a deployed container is labelled with.
func (e *Env) GitSHA() string {
	rev, _ := e.BuildInfo()
	return rev
}
