/*
 * The Pod sandbox process for the test sites' containerd (sandbox_image): it holds the Pod's
 * namespaces open and does nothing else. Like Kubernetes' pause: it sleeps until a signal comes,
 * reaps children that are re-parented to it (it is PID 1 when the Pod shares its PID namespace),
 * and exits 0 on SIGINT or SIGTERM. Built static (gcc -static) by build.sh, so the image holds this
 * one file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "3.10"

static void on_stop(int signo) {
  /* Only async-signal-safe calls here. */
  static const char msg[] = "pause: stopping on signal\n";
  (void)signo;
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(0);
}

static void on_child(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void handle(int signo, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(signo, &sa, NULL) < 0) {
    perror("pause: sigaction");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("clusterlink pause %s\n", VERSION);
    return 0;
  }
  if (getpid() != 1) {
    fprintf(stderr, "pause: warning: not running as PID 1\n");
  }
  handle(SIGINT, on_stop, 0);
  handle(SIGTERM, on_stop, 0);
  handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART);
  for (;;) {
    pause();
  }
  /* Not reached. */
  return 42;
}
