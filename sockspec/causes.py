"""The catalog of causes: every bug the spec can name, with a stable id, in the course's words.

A failing test names its candidate causes by id (its `likely_bug` marker's
`causes=`, or what the harness saw: `SpecFailure.causes`), and the run's
diagnosis (`sockspec.diagnosis`) ranks them over all failed tests.  Each
cause says what is wrong in the words of the notes, the usual line of C
that does it, and the fix; ids are stable (reports, the results file and
the corpus's headers use them), so a cause is renamed only with all of
those.  `docs/causes.md` is generated from here: `python -m sockspec.causes
> docs/causes.md`, and its Chinese, `python -m sockspec.causes zh_CN >
docs/causes.zh_CN.md`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sockspec import i18n
from sockspec.i18n import N_, _


@dataclass(frozen=True)
class Cause:
    id: str
    words: str  # what is wrong, in the words of the notes
    line: str  # the usual C (or Python) line that does it
    fix: str
    role: str = "server"  # server, client, or both: which half of the spec can name it
    models: tuple[str, ...] = ()  # the server models it can happen in (none: any); `--model any` has all

    def possible_for(self, model: str | None) -> bool:
        return not self.models or model in (None, "any") or model in self.models


_SERVER = [
    Cause(
        "strlen-on-binary",
        N_(
            'the data is treated as a C string: strlen(), printf("%s") or strcpy() stop at '
            "the first NUL byte, and TCP carries bytes, not strings"
        ),
        "send(fd, buf, strlen(buf), 0);",
        N_("send exactly the n bytes recv() returned: send(fd, buf, n, 0)"),
        "both",
    ),
    Cause(
        "decodes-text",
        N_(
            "every message is decoded as text (UTF-8) before it is sent back, so bytes that are "
            "not text are changed or kill the handler"
        ),
        "data.decode()",
        N_("echo the bytes as they came; decode only what you print, with errors='replace'"),
        "both",
    ),
    Cause(
        "recv-length-overflow",
        N_(
            "recv() is given a length larger than its buffer, so a long message "
            "overflows it (strlen(buf) - 1 of a zeroed buffer is SIZE_MAX)"
        ),
        "recv(fd, buf, strlen(buf) - 1, 0);",
        N_("recv(fd, buf, sizeof buf, 0): the buffer's size, never strlen()"),
        "both",
    ),
    Cause(
        "sends-whole-buffer",
        N_("send() is given the buffer's size instead of the count recv() returned, so garbage follows every reply"),
        "send(fd, buf, sizeof buf, 0);",
        N_("send(fd, buf, n, 0) with n from recv()"),
    ),
    Cause(
        "adds-bytes",
        N_(
            "something is added to every reply (a newline, a NUL terminator, a greeting or a "
            "farewell): the client gets bytes it never sent"
        ),
        'send(fd, buf, n + 1, 0);  /* or strcat(buf, "\\n") */',
        N_("send back exactly what was received, nothing more"),
        "both",
    ),
    Cause(
        "drops-bytes",
        N_(
            "some of the data is thrown away or rewritten before it is sent back: the last byte "
            "stripped as a newline, \\r\\n turned into \\n, 'empty' or command-like messages skipped"
        ),
        "buf[n - 1] = '\\0'; send(fd, buf, n - 1, 0);",
        N_("echo every byte recv() returned, unchanged"),
        "both",
    ),
    Cause(
        "drains-socket",
        N_(
            "data that already arrived is thrown away (a recv() to 'clear the socket', like "
            "fflush(stdin)), so pipelined messages are lost"
        ),
        "while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0);",
        N_("never read data you do not answer: every byte recv() returns is part of the stream"),
    ),
    Cause(
        "partial-send-ignored",
        N_(
            "send() may send fewer bytes than asked (or fail with EAGAIN on a non-blocking socket); the rest is dropped"
        ),
        "send(fd, buf, n, 0);  /* count not checked */",
        N_("loop until all n bytes are sent: off += send(fd, buf + off, n - off, 0)"),
        "both",
    ),
    Cause(
        "recv-is-not-a-message",
        N_(
            "one recv() is taken for one message: TCP is a byte stream, so a message "
            "may come in pieces, several may come in one recv(), and a full buffer is not the end of anything"
        ),
        "if (n < sizeof buf) /* message complete */",
        N_("treat recv() as 'some bytes': loop, and echo what came"),
        "both",
    ),
    Cause(
        "buffer-never-cleared",
        N_(
            "the received data is appended to a buffer that is never emptied, so every reply repeats the "
            "earlier messages"
        ),
        "reply += std::string(buf, n);",
        N_("clear the buffer after each reply"),
    ),
    Cause(
        "one-reply-per-connection",
        N_("the connection is closed after one reply, so a client can send only one message"),
        "send(...); close(cfd);  /* inside the loop */",
        N_("keep the recv()/send() loop until recv() returns 0"),
    ),
    Cause(
        "shared-buffer",
        N_(
            "clients share one buffer (a global, a static, a helper's static result), so "
            "clients talking at the same moment get each other's data"
        ),
        "static char buf[1024];",
        N_("give each connection its own buffer: a local array in the thread or child"),
    ),
    Cause(
        "shared-fd-variable",
        N_(
            "the thread is given the address of a variable the accept loop reuses "
            "(&cfd), so two clients accepted back to back can end up on one descriptor"
        ),
        "pthread_create(&t, NULL, handler, &cfd);",
        N_("pass each thread its own copy: malloc an int, or pass the value cast to a pointer"),
        models=("threaded",),
    ),
    Cause(
        "wrong-client-fd",
        N_(
            "the reply goes to a global descriptor the accept loop overwrites (the newest "
            "client), not to the connection that asked"
        ),
        "send(current_fd, reply, len, 0);",
        N_("each thread or child sends on its own connection's descriptor"),
    ),
    Cause(
        "no-close-on-eof",
        N_(
            "recv() == 0 (the peer closed the connection) is not handled: the server never "
            "closes its socket, so the client never sees end of file"
        ),
        "if (n == 0) continue;",
        N_("when recv() returns 0, close(fd) and stop serving that client"),
        "both",
    ),
    Cause(
        "spin-on-eof",
        N_(
            "a loop goes on after recv() returned 0 or < 0 (or accept() failed) without "
            "blocking, and burns a whole CPU core"
        ),
        "if (n <= 0) continue;",
        N_("on recv() == 0 or < 0, close and leave the loop"),
        "both",
    ),
    Cause(
        "busy-poll",
        N_(
            "a loop polls instead of blocking: a non-blocking accept()/recv()/read() tried again "
            "at once or after a short sleep, which wakes the process up all the time"
        ),
        "fcntl(fd, F_SETFL, O_NONBLOCK); while (recv(...) < 0) usleep(1000);",
        N_("block in accept() and recv(), or in select()/poll() without a timeout"),
        "both",
    ),
    Cause(
        "fd-leak",
        N_(
            "a socket is never closed on some path (after a reset, after a failed send(), or "
            "shutdown() used instead of close()), so every such client leaks a descriptor"
        ),
        "if (n < 0) return NULL;  /* no close(fd) */",
        N_("close(fd) on every way out of the handler"),
    ),
    Cause(
        "slots-never-freed",
        N_(
            "a table of clients fills up and its slots are never freed when a client "
            "leaves, so the server turns clients away after enough of them in all"
        ),
        "clients[nclients++] = cfd;",
        N_("free the slot when the client leaves (or keep no table)"),
    ),
    Cause(
        "parent-keeps-socket",
        N_(
            "the forking server's parent never closes its copy of the accepted socket, "
            "so the connection stays open after the child closes it, and the parent leaks a descriptor per client"
        ),
        "if (fork() == 0) { ... }  /* parent: no close(cfd) */",
        N_("in the parent, close(cfd) right after fork()"),
        models=("forking",),
    ),
    Cause(
        "linger-reset",
        N_(
            "close() resets the connection, so replies still on their way are lost and the client gets "
            "ECONNRESET instead of end of file: SO_LINGER {on, 0}, or a close() while received data is "
            "still unread (closing on EPOLLRDHUP or POLLHUP, before recv() returned 0)"
        ),
        "setsockopt(cfd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, ...);  if (ev & EPOLLRDHUP) close(fd);",
        N_(
            "do not set SO_LINGER (TIME_WAIT is what SO_REUSEADDR is for); read until recv() returns 0 and "
            "send every echo before close()"
        ),
    ),
    Cause(
        "edge-triggered-not-drained",
        N_(
            "an edge-triggered socket (EPOLLET) is read once per event: epoll_wait() reports it again only "
            "when new data arrives, so what that one recv() left waits unread, and the client waits for it"
        ),
        "ev.events = EPOLLIN | EPOLLET;  ...  n = recv(fd, buf, sizeof buf, 0);  /* once per event */",
        N_("with EPOLLET, recv() until it fails with EAGAIN; or use level-triggered epoll (no EPOLLET)"),
        models=("evented",),
    ),
    Cause(
        "blocking-accept-in-loop",
        N_(
            "the event loop calls accept() on a listening socket that blocks (an accept() loop until it "
            "fails, with no O_NONBLOCK): once the waiting clients are taken, the whole server sleeps in "
            "accept() and serves nobody until another client connects"
        ),
        "while ((cfd = accept(lfd, NULL, NULL)) >= 0) add(cfd);  /* lfd blocking */",
        N_(
            "make the listening socket non-blocking too (fcntl(lfd, F_SETFL, O_NONBLOCK)) and stop at EAGAIN, "
            "or call accept() once per readiness"
        ),
        models=("evented",),
    ),
    Cause(
        "closes-with-replies-pending",
        N_(
            "the server closes a half-closed connection on a clock: some time after recv() returned 0 it "
            "stops sending and closes, and echoes that a slow reader has not yet taken (in its buffers, or "
            "in a helper's pipe) never arrive"
        ),
        "alarm(1);  /* after recv() == 0 */  /* or: select() with a timeout, then close(cfd) */",
        N_(
            "after recv() returns 0, keep sending until every reply is out, however long the client takes; then close()"
        ),
    ),
    Cause(
        "child-falls-into-accept",
        N_(
            "the child does not exit when its client is done: it falls back into "
            "the parent's accept() loop (the notes' child breaks out of its loop and never exits)"
        ),
        "break;  /* in the child, instead of exit(0) */",
        N_("end the child with exit(0) after close(cfd)"),
        models=("forking",),
    ),
    Cause(
        "thread-leak",
        N_(
            "threads never end or are never released: a thread that returns to accept(), or "
            "one neither detached nor joined keeps its stack"
        ),
        "pthread_create(&t, NULL, handler, arg);  /* no pthread_detach */",
        N_("pthread_detach(t) (or join it), and end the thread when its client is done"),
        models=("threaded",),
    ),
    Cause(
        "exits-after-first-client",
        N_(
            "the server stops serving after its first client: it returns from "
            "main, closes the listening socket, calls accept() only once, or exit()s in a handler"
        ),
        "close(lfd);  /* inside the accept loop */",
        N_("keep the listening socket and loop on accept() forever"),
    ),
    Cause(
        "swapped-fork-branches",
        N_(
            "the two branches of fork() are swapped: the parent serves the client and exits, the child goes on "
            "accepting"
        ),
        "if (fork() > 0) { serve(cfd); exit(0); }",
        N_("fork() returns 0 in the child: the child serves, the parent closes cfd and accepts"),
        models=("forking",),
    ),
    Cause(
        "exits-on-client-error",
        N_(
            "the whole server exits when one client's call fails (a reset, a "
            "failed getpeername(), recv() or send()), so one client takes down every other"
        ),
        'if (n < 0) { perror("recv"); exit(1); }',
        N_("a failed call on a connection ends only that connection"),
    ),
    Cause(
        "sigpipe",
        N_("SIGPIPE is not ignored: writing to a connection the peer reset kills the process"),
        "send(fd, buf, n, 0);  /* no signal(SIGPIPE, SIG_IGN) */",
        N_("signal(SIGPIPE, SIG_IGN) at start-up, or send(..., MSG_NOSIGNAL)"),
        "both",
    ),
    Cause(
        "eintr-kills-accept",
        N_(
            "a signal (SIGCHLD) interrupts accept() or select() with EINTR and the "
            "server takes that for an error and exits"
        ),
        'if (cfd < 0) { perror("accept"); exit(1); }',
        N_("on EINTR, call accept() again (SA_RESTART does not restart select())"),
    ),
    Cause(
        "no-reap",
        N_(
            "exited children are never reaped (no SIGCHLD handler, no wait), or only when the next "
            "client connects, so they stay zombies"
        ),
        "/* no signal(SIGCHLD, handler) */",
        N_("a SIGCHLD handler that loops on waitpid(-1, NULL, WNOHANG) > 0"),
        models=("forking",),
    ),
    Cause(
        "one-wait-per-sigchld",
        N_(
            "the SIGCHLD handler reaps one child per signal; signals do not queue, so "
            "when several children exit together some stay zombies"
        ),
        "void handler(int s) { wait(NULL); }",
        N_("while (waitpid(-1, NULL, WNOHANG) > 0);"),
        models=("forking",),
    ),
    Cause(
        "handler-not-rearmed",
        N_(
            "the SIGCHLD handler is installed with the old System V signal(), which "
            "resets it after its first run, so later children stay zombies"
        ),
        "sysv_signal(SIGCHLD, handler);",
        N_("install it with sigaction() (or BSD signal())"),
        models=("forking",),
    ),
    Cause(
        "blocking-reap",
        N_(
            "the SIGCHLD handler waits without WNOHANG, so it blocks the server until a "
            "child that is still serving its client exits"
        ),
        "while (waitpid(-1, NULL, 0) > 0);",
        N_("waitpid(-1, NULL, WNOHANG)"),
        models=("forking",),
    ),
    Cause(
        "not-concurrent",
        N_(
            "clients are served one after another: the parent wait()s for its child, the "
            "main thread joins each thread, or the thread or child was never started"
        ),
        "pthread_create(&t, ...); pthread_join(t, NULL);",
        N_("do not wait for a client's thread or child in the accept loop: detach threads, reap children from SIGCHLD"),
    ),
    Cause(
        "wrong-model",
        N_(
            "the server does not work the way it is declared (--model): e.g. a thread per "
            "client where a child per client was asked for"
        ),
        "pthread_create(...);  /* declared forking */",
        N_("write the model the assignment asks for, or declare the one you wrote"),
    ),
    Cause(
        "concurrency-cap",
        N_(
            "the server serves at most a fixed number of clients at once (a table of 64 "
            "slots, socketserver's max_children = 40) and turns away or ignores the rest"
        ),
        "if (nclients == 64) close(cfd);",
        N_("no limit below what the assignment needs, or queue the extra clients"),
    ),
    Cause(
        "blocking-send-under-lock",
        N_(
            "a send() that blocks (a client that does not read) is made while "
            "holding a lock every client needs, so one slow client stops all the others"
        ),
        "pthread_mutex_lock(&m); send(...); pthread_mutex_unlock(&m);",
        N_("never hold a shared lock across send()"),
        models=("threaded",),
    ),
    Cause(
        "blocking-send-in-loop",
        N_(
            "an event loop makes a send() that blocks (the whole reply to a client that does not read), so "
            "every other client waits for that one"
        ),
        "send(fd, buf, n, 0);  /* blocking socket, inside the poll() loop */",
        N_("non-blocking sockets: send what the socket takes now, keep the rest, and wait for POLLOUT"),
        models=("evented",),
    ),
    Cause(
        "hoards-replies",
        N_(
            "the server keeps reading from a client that does not read its replies and keeps them all in "
            "memory, without limit: one such client can make it run out of memory"
        ),
        "writer.write(data)  # asyncio, no await writer.drain();  sock.write(d) ignoring false (Node)",
        N_(
            "stop reading from a client while its replies wait to be sent: await drain(), pause(), or "
            "watch only for writability until the rest is out"
        ),
    ),
    Cause(
        "fd-setsize",
        N_(
            "select() is used with descriptors of FD_SETSIZE (1024) or more, which its fd_set cannot hold: "
            "memory is overwritten, or clients past 1024 are never served"
        ),
        "FD_SET(cfd, &readfds);  /* cfd >= 1024 */",
        N_("use poll() or epoll, which have no such limit"),
        models=("evented",),
    ),
    Cause(
        "closes-on-command",
        N_(
            "a message that starts like a command (quit, exit, bye) closes the connection instead of being "
            "echoed: the server only passes bytes on"
        ),
        'if (strncmp(buf, "quit", 4) == 0) break;',
        N_("echo every message as it is; end only when recv() returns 0"),
    ),
    Cause(
        "no-reuseaddr",
        N_(
            "SO_REUSEADDR is not set before bind(), so the server cannot restart on its port "
            "while old connections are in TIME_WAIT"
        ),
        "bind(lfd, ...);  /* no setsockopt before */",
        N_("setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) before bind()"),
    ),
    Cause(
        "ctrl-c-swallowed",
        N_("Ctrl-C (SIGINT) is caught or ignored, so the server does not stop"),
        "except: pass  /* around accept() */",
        N_("let SIGINT end the server (catch only the errors you mean)"),
    ),
    Cause(
        "recv-timeout",
        N_("a receive timeout (SO_RCVTIMEO) is taken for an error, so a client that pauses is dropped"),
        "setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, ...);",
        N_("let recv() block: a silent client is not an error"),
    ),
    Cause(
        "operator-line-changed",
        N_(
            "the operator's typed reply is not sent as typed: cut at a space (cin >>), "
            "at 15 characters (fgets into 16 bytes), stripped of spaces, or of non-ASCII bytes"
        ),
        "cin >> reply;",
        N_("read the whole line (getline()) and send all of it but the newline"),
    ),
    Cause(
        "empty-operator-line",
        N_(
            "an empty operator line (just Enter) is taken for end of input or crashes the server (strtok() "
            "returns NULL)"
        ),
        'strlen(strtok(line, "\\n"))',
        N_('strip the newline with line[strcspn(line, "\\n")] = 0; end only at EOF'),
    ),
    Cause(
        "operator-input-out-of-step",
        N_(
            "the operator's lines are read out of step with the clients: asked "
            "before the message, one line too many (getchar() after fgets()), or buffered by another child"
        ),
        "fgets(line, sizeof line, stdin); getchar();",
        N_("one recv(), then one line from the operator, in that order"),
    ),
]

_CLIENT = [
    Cause(
        "connect-error-unreported",
        N_(
            "a refused connect() is not reported on stderr with a non-zero exit "
            "status (printed on stdout, retried forever, or ignored)"
        ),
        "if (connect(...) < 0) printf(...); return 0;",
        N_('perror("connect"); return 1;'),
        "client",
    ),
    Cause(
        "exit-status-on-close",
        N_(
            "the client exits with a failure status when the server closes the "
            "connection, which is the normal end of a chat"
        ),
        "if (n == 0) exit(1);",
        N_("recv() == 0: say so and exit(0)"),
        "client",
    ),
    Cause(
        "silent-on-close",
        N_("the client ends without a word when the server closes the connection"),
        "if (n == 0) break;",
        N_('print that the server closed the connection (the notes: "server shutdown!")'),
        "client",
    ),
    Cause(
        "ignores-end-of-input",
        N_(
            "end of input (Ctrl-D) does not close the connection: the client stops "
            "reading stdin but keeps the socket open, or keeps polling stdin"
        ),
        "if (!getline(cin, s)) continue;",
        N_("at end of input close(fd) (or shutdown(fd, SHUT_WR)) and exit"),
        "client",
    ),
    Cause(
        "waits-for-server",
        N_("the client waits for the server to speak before it reads what the user types, so nothing is ever sent"),
        "recv(fd, ...);  /* before the first getline() */",
        N_("read the user's line first, send it, then read the reply"),
        "client",
    ),
    Cause(
        "typed-line-changed",
        N_('the typed line is not sent whole: cut at the first space (sscanf("%s")) or at a fixed length'),
        'sscanf(line, "%s", word);',
        N_("send the whole line as typed"),
        "client",
    ),
    Cause(
        "waits-in-input",
        N_(
            "the client reads the connection only after the user typed a line (one recv() per "
            "line), so a reply in pieces, a late reply, a close or a reset is seen late or never"
        ),
        "getline(cin, s); send(...); recv(...);",
        N_("wait on stdin and the socket together (select()/poll())"),
        "client",
    ),
]

CAUSES: dict[str, Cause] = {cause.id: cause for cause in (*_SERVER, *_CLIENT)}


def markdown() -> str:
    """docs/causes.md (or, in another language, docs/causes.<language>.md): every cause, by id."""
    language = i18n.current()
    command = "python -m sockspec.causes > docs/causes.md"
    if language != i18n.ENGLISH:
        command = f"python -m sockspec.causes {language} > docs/causes.{language}.md"
    lines = [
        _("# Causes: every bug the spec names"),
        "",
        _("Generated from `sockspec/causes.py` (`{command}`); do not edit.").format(command=command),
        _(
            "A failing test lists its candidate causes by id; the run's DIAGNOSIS ranks them over all "
            "failed tests. The ids are stable: reports, the results file and the corpus use them."
        ),
        "",
    ]
    for cause in CAUSES.values():
        role = {"server": _("server"), "client": _("client"), "both": _("both")}[cause.role]
        where = (
            role
            if not cause.models
            else _("{role}; {models} servers").format(role=role, models=", ".join(cause.models))
        )
        words = _(cause.words)
        sentence = _("{words}.").format(words=words[0].upper() + words[1:])
        usually = _("- usually: `{line}`").format(line=cause.line)
        lines += [
            f"## `{cause.id}` ({where})",
            "",
            sentence,
            "",
            usually,
            _("- fix: {fix}").format(fix=_(cause.fix)),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    i18n.use(sys.argv[1] if len(sys.argv) > 1 else i18n.ENGLISH)
    sys.stdout.write(markdown())
