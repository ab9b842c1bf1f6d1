package docker

// Labels for the short-lived containers and networks a run creates (run
// containers, services, their networks). They are what Cleanup and
// RemoveLeftovers look for; anything meant to outlive the run (a deployed
// container) must not carry LabelOwner.
const (
	// LabelOwner identifies the dtask process that created the object, as
	// "host=H;boot=B;pid=P;start=S", so that a later run can tell whether
	// that process is still alive before removing its leftovers.
	LabelOwner = "dev.dtask.owner"
	// LabelService names the service a container runs.
	LabelService = "dev.dtask.service"
	// LabelServiceHash is the hash of the service's definition and image,
	// so a shared service is replaced only when its definition changes.
	LabelServiceHash = "dev.dtask.service.hash"
)
