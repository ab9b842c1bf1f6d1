package dockerfile

import "testing"

func TestMayRead(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{"COPY go.mod go.sum ./\nCOPY cmd/ ./cmd/", false},
		{`COPY ["src", "/app/src"]`, false},
		{"COPY --from=build / /\nCOPY --from=busybox:latest /bin/sh /sh", false},
		{"ADD https://example.invalid/a.tgz /a\nADD app.tgz /", false},
		{"COPY <<EOF /etc/conf\nx\nEOF", false},
		{"RUN --mount=type=cache,target=/root/.cache go build\nRUN --mount=type=bind,source=src,target=/src ls", false},
		{"COPY *.go ./", false},
		{"COPY .gitignore /", false},
		{"COPY . .", true},
		{"COPY ./ /src", true},
		{"COPY /. /src", true},
		{"ADD . /src", true},
		{"COPY .git /git", true},
		{"COPY ./.git/HEAD /HEAD", true},
		{"COPY * /src/", true},
		{"COPY .g?t /x", true},
		{"COPY ${DIR} /src", true},
		{"RUN --mount=target=/src make", true},
		{"RUN --mount=type=bind,target=/src make", true},
		{"RUN --mount=type=bind,source=.git,target=/g git log", true},
		{"FROM busybox AS other\nCOPY . .", true},
		{"COPY [ \"broken", true},
	}
	for _, c := range cases {
		src := "FROM busybox\n" + c.body + "\n"
		if got := MayRead([]byte(src), ".git"); got != c.want {
			t.Errorf("%q: MayRead .git = %v, want %v", c.body, got, c.want)
		}
	}
}
