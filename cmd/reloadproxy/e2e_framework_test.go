package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real frameworks behind the binary, with the command lines of the README's
// "With your framework" (Vite, which needs a browser, is in
// e2e_vite_test.go).

// runIn runs a command in dir to set a project up and fails the test with
// its output if it fails.
func runIn(t *testing.T, dir string, env []string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// djangoURLs is the project's urls.py: the admin, and the notes app's view
// at /.
const djangoURLs = `from django.contrib import admin
from django.urls import path

from notes.views import home

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", home),
]
`

// djangoView reads the default SQLite database on every request.
const djangoView = `from django.contrib.auth.models import User
from django.http import HttpResponse


def home(request):
    names = ", ".join(User.objects.order_by("username").values_list("username", flat=True))
    return HttpResponse("<!DOCTYPE html><html><head><title>notes</title></head><body><h1>users: %s</h1></body></html>" % names)
`

// TestE2EDjango runs the README's Django line of "With your framework":
//
//	reloadproxy 8000 8001 --exec python3 manage.py runserver --noreload 8001
//
// on a project made by django-admin startproject, with an app whose view
// reads the SQLite database, migrated and with a superuser. Twenty page
// loads start the server once; the admin's login form (CSRF cookie and
// token) logs in through the proxy; what Django writes itself (the
// database, its journal, a stale journal owned by another user,
// __pycache__) restarts nothing; an edit of a view restarts it.
func TestE2EDjango(t *testing.T) {
	python := pythonWith(t, "django")
	writeBytecode(t)
	dir := t.TempDir()
	runIn(t, dir, nil, python, "-m", "django", "startproject", "mysite", ".")
	runIn(t, dir, nil, python, "manage.py", "startapp", "notes")
	settings := filepath.Join(dir, "mysite", "settings.py")
	s, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	writeProject(t, dir, map[string]string{
		"mysite/settings.py": string(s) + "\nINSTALLED_APPS += [\"notes\"]\n",
		"mysite/urls.py":     djangoURLs,
		"notes/views.py":     djangoView,
	})
	runIn(t, dir, nil, python, "manage.py", "migrate", "--noinput")
	runIn(t, dir, []string{"DJANGO_SUPERUSER_USERNAME=admin", "DJANGO_SUPERUSER_PASSWORD=reload-proxy-pw", "DJANGO_SUPERUSER_EMAIL=admin@example.com"},
		python, "manage.py", "createsuperuser", "--noinput")

	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", python, "manage.py", "runserver", "--noreload", backend)
	p.waitOutput("ready in", 1, projectTimeout)

	// Twenty page loads read the database: one start in all.
	for i := 0; i < 20; i++ {
		if body := get200(t, p, p.url("/")); !strings.Contains(body, "<h1>users: admin</h1>") {
			t.Fatalf("page %q", body)
		}
	}
	if n := starts(p); n != 1 {
		t.Fatalf("%d backend starts after 20 page loads, want 1:\n%s", n, p.out)
	}

	// The admin login: the form's CSRF token and cookie, then the POST
	// that writes a session to the database.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := getBody(t, p, client, p.url("/admin/login/?next=/admin/"))
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the login form:\n%s", form)
	}
	resp, err := client.PostForm(p.url("/admin/login/?next=/admin/"), url.Values{
		"csrfmiddlewaretoken": {m[1]}, "username": {"admin"}, "password": {"reload-proxy-pw"}, "next": {"/admin/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("login: %s, Location %q; want 302 to /admin/\nproxy output:\n%s", resp.Status, resp.Header.Get("Location"), p.out)
	}
	if admin := getBody(t, p, client, p.url("/admin/")); !strings.Contains(admin, "Site administration") {
		t.Fatalf("/admin/ after login:\n%s", admin)
	}

	// A stale journal owned by another user (nobody, 65534) appears.
	journal := filepath.Join(dir, "db.sqlite3-journal")
	writeProject(t, dir, map[string]string{"db.sqlite3-journal": ""})
	if os.Getuid() == 0 {
		if err := os.Chown(journal, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("not root: the stale journal is the test's own")
	}
	stayedQuiet(t, p, 1500*time.Millisecond)
	if body := get200(t, p, p.url("/")); !strings.Contains(body, "users: admin") {
		t.Fatalf("page %q", body)
	}
	if n := starts(p); n != 1 {
		t.Fatalf("%d backend starts after the login and the journal, want 1:\n%s", n, p.out)
	}

	// An edit of the view restarts the server, and the new view serves
	// (of another size: see TestE2EFlask).
	writeProject(t, dir, map[string]string{"notes/views.py": strings.Replace(djangoView, "users: ", "accounts: ", 1)})
	waitBody(t, p, p.url("/"), "<h1>accounts: admin</h1>", projectTimeout)
	if n := starts(p); n != 2 {
		t.Fatalf("%d backend starts after one edit, want 2:\n%s", n, p.out)
	}
}

// writeBytecode lets Python write __pycache__ as it does on a developer's
// machine, where reloadproxy must ignore it: this environment may set
// PYTHONDONTWRITEBYTECODE (an empty value counts as unset).
func writeBytecode(t *testing.T) {
	t.Setenv("PYTHONDONTWRITEBYTECODE", "")
}

// getBody fetches url with client and fails unless the answer is 200.
func getBody(t *testing.T, p *proc, client *http.Client, url string) string {
	t.Helper()
	resp, body, err := sendRequest(client, "GET", url, "text/html", nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s\nproxy output:\n%s", url, resp.Status, body, p.out)
	}
	return string(body)
}

// flaskProgram returns a flask command that runs: the one on PATH (a
// version manager's shim may have no Flask behind it), else Debian's.
func flaskProgram(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"flask", "/usr/bin/flask"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if exec.Command(path, "--version").Run() == nil {
			return path
		}
		tried = append(tried, path)
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no working flask command (tried %v); .ci/run installs Debian's python3-flask", tried)
	}
	t.Skipf("no working flask command (tried %v)", tried)
	return ""
}

// flaskApp is app.py of a one-page Flask application.
func flaskApp(version string) string {
	return `from flask import Flask

app = Flask(__name__)


@app.route("/")
def home():
    return "<h1>flask ` + version + `</h1>"
`
}

// TestE2EFlask runs the README's Flask line of "With your framework":
//
//	reloadproxy 8000 8001 --exec flask --app app run --no-reload --port 8001
//
// The page serves; an edit restarts the server once and serves the edit.
func TestE2EFlask(t *testing.T) {
	flask := flaskProgram(t)
	writeBytecode(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"app.py": flaskApp("version 1")})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", flask, "--app", "app", "run", "--no-reload", "--port", backend)
	waitBody(t, p, p.url("/"), "<h1>flask version 1</h1>", projectTimeout)
	// A different size: Python trusts a .pyc whose source has the size
	// and the mtime (in whole seconds) it recorded.
	writeProject(t, dir, map[string]string{"app.py": flaskApp("version 2, edited")})
	waitBody(t, p, p.url("/"), "<h1>flask version 2, edited</h1>", projectTimeout)
	// The server wrote __pycache__ at each start: never a change.
	stayedQuiet(t, p, 500*time.Millisecond)
	if n := starts(p); n != 2 {
		t.Fatalf("%d backend starts, want 2:\n%s", n, p.out)
	}
}

// expressServer is server.js of a one-page Express application on $PORT.
func expressServer(version string) string {
	return `const express = require("express");

const app = express();
app.get("/", (req, res) => res.send("<h1>express ` + version + `</h1>"));
app.listen(process.env.PORT, "127.0.0.1", () => console.log("listening on " + process.env.PORT));
`
}

// TestE2EExpress runs the README's Node/Express line of "With your
// framework":
//
//	reloadproxy 8000 8001 --exec node server.js
//
// with Express from testdata/express (npm ci). An edit restarts the server
// and serves the edit.
func TestE2EExpress(t *testing.T) {
	node := requireTool(t, "node")
	dir := t.TempDir()
	linkModules(t, dir, "express")
	writeProject(t, dir, map[string]string{"server.js": expressServer("version 1")})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", node, "server.js")
	waitBody(t, p, p.url("/"), "<h1>express version 1</h1>", projectTimeout)
	writeProject(t, dir, map[string]string{"server.js": expressServer("version 2")})
	waitBody(t, p, p.url("/"), "<h1>express version 2</h1>", projectTimeout)
	if n := starts(p); n != 2 {
		t.Fatalf("%d backend starts, want 2:\n%s", n, p.out)
	}
}
