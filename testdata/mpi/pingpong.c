/* pingpong: the MPI test program of urun's HPC tests. Every rank prints
 * its rank, uid, cwd, the value of URUN_TEST_VAR and its user namespace;
 * ranks 0 and 1 then
 * exchange messages and rank 0 prints the round-trip latency per size.
 * Exit status: argv[1] if given (to test that it passes through), else 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size, iters = 1000;
	char cwd[4096], ns[64] = "?", *buf;
	ssize_t n;
	const char *v = getenv("URUN_TEST_VAR");
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "?");
	if ((n = readlink("/proc/self/ns/user", ns, sizeof ns - 1)) > 0)
		ns[n] = 0;
	printf("rank %d of %d uid %d cwd %s var %s userns %s\n", rank, size, (int)getuid(), cwd, v ? v : "-", ns);
	fflush(stdout);
	buf = calloc(1, 1 << 20);
	if (size >= 2 && rank < 2) {
		int peer = 1 - rank;
		for (int len = 1024; len <= (1 << 20); len *= 1024) {
			MPI_Barrier(MPI_COMM_WORLD);
			double t0 = MPI_Wtime();
			for (int i = 0; i < iters; i++) {
				if (rank == 0) {
					MPI_Send(buf, len, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
					MPI_Recv(buf, len, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
				} else {
					MPI_Recv(buf, len, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
					MPI_Send(buf, len, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
				}
			}
			double us = (MPI_Wtime() - t0) / iters / 2 * 1e6;
			if (rank == 0)
				printf("pingpong %d bytes %.2f us %.1f MB/s\n", len, us, len / us);
			iters = 100;
		}
	} else if (size >= 2) {
		MPI_Barrier(MPI_COMM_WORLD);
		MPI_Barrier(MPI_COMM_WORLD);
	}
	MPI_Finalize();
	return argc > 1 ? atoi(argv[1]) : 0;
}
