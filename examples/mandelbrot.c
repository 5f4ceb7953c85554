/*
 * mandelbrot.c — uneven work: one task per image row of the Mandelbrot set.
 * Rows through the set take hundreds of times longer than rows outside it,
 * so dynamic scheduling with one row per chunk keeps every worker busy.
 *
 *     mpirun -n 4 ./build/examples/mandelbrot out.ppm              # 800 x 600
 *     mpirun -n 4 ./build/examples/mandelbrot out.ppm 1920 1080
 *     ./build/examples/mandelbrot out.ppm 320 240                  # one rank
 *
 * Writes a binary PPM (P6) image and prints its size with a checksum of its
 * pixels, then the file name; the image, and so the checksum, is the same
 * for any number of ranks.  Items are a fixed-size struct (row + parameters, the
 * starmap pattern); results are fixed-size too: one row of RGB pixels.
 * Python equivalent:
 *
 *     with Pool() as pool:
 *         rows = pool.map(render_row, [(y, w, h, max_iter) for y in range(h)], chunksize=1)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpipool.h>

/* The view: x in [-2.5, 1.0], y in [-1.25, 1.25]. */
#define X_MIN (-2.5)
#define X_SPAN 3.5
#define Y_MAX 1.25
#define Y_SPAN 2.5
#define MAX_DIM 20000

/* One item: which row to draw, and how. */
typedef struct {
    int32_t row, width, height, max_iter;
} row_job;

/* Iterations before z = z^2 + c escapes |z| > 2, or max_iter inside the set. */
static int escape_time(double cx, double cy, int max_iter) {
    double x = 0.0, y = 0.0;
    int i = 0;
    while (i < max_iter && x * x + y * y <= 4.0) {
        double xt = x * x - y * y + cx;
        y = 2.0 * x * y + cy;
        x = xt;
        i++;
    }
    return i;
}

/* The task: one row of width RGB pixels (out_size = 3 * width bytes).
 * Inside the set is black; outside, a colour from the escape time. */
static int render_row(mpipool_task *t) {
    const row_job *j = t->in;
    unsigned char *px = t->out;
    if (t->out_size != 3 * (size_t)j->width) return mpipool_task_fail(t, "row buffer of %zu bytes", t->out_size);
    double cy = Y_MAX - Y_SPAN * (j->row + 0.5) / j->height;
    for (int c = 0; c < j->width; c++) {
        double cx = X_MIN + X_SPAN * (c + 0.5) / j->width;
        int it = escape_time(cx, cy, j->max_iter);
        unsigned char *p = px + 3 * (size_t)c;
        if (it >= j->max_iter) {
            p[0] = p[1] = p[2] = 0;
        } else {
            p[0] = (unsigned char)(32 + (it * 7) % 224);
            p[1] = (unsigned char)(32 + (it * 13) % 224);
            p[2] = (unsigned char)(32 + (it * 29) % 224);
        }
    }
    return 0;
}
MPIPOOL_TASK(render_row);

static long parse_dim(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > MAX_DIM) return -1;
    return v;
}

int main(int argc, char **argv) {
    mpipool *pool;
    int rc = mpipool_open(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "mandelbrot: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    long width = argc > 2 ? parse_dim(argv[2]) : 800;
    long height = argc > 3 ? parse_dim(argv[3]) : 600;
    if (argc < 2 || argc > 4 || width < 0 || height < 0) {
        fprintf(stderr, "mandelbrot: usage: mandelbrot OUTPUT.ppm [WIDTH [HEIGHT]]  (1..%d, default 800 600)\n",
                MAX_DIM);
        mpipool_close(pool);
        return 2;
    }

    size_t row_bytes = 3 * (size_t)width;
    row_job *rows = malloc((size_t)height * sizeof *rows);
    unsigned char *image = malloc((size_t)height * row_bytes);
    if (rows == NULL || image == NULL) {
        fprintf(stderr, "mandelbrot: out of memory for a %ldx%ld image\n", width, height);
        free(rows);
        free(image);
        mpipool_close(pool);
        return 1;
    }
    for (long y = 0; y < height; y++) rows[y] = (row_job){(int32_t)y, (int32_t)width, (int32_t)height, 1000};

    /* image row y = render_row(rows[y]): results land straight in the image. */
    mpipool_map_options opts = MPIPOOL_MAP_OPTIONS_INIT;
    opts.chunk_size = 1; /* one row at a time: the rows' costs differ widely */
    rc = mpipool_map(pool, render_row, rows, sizeof *rows, image, row_bytes, (size_t)height, &opts);
    int ok = rc == MPIPOOL_OK;
    if (!ok) fprintf(stderr, "mandelbrot: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));

    if (ok) {
        FILE *f = fopen(argv[1], "wb");
        if (f == NULL) {
            perror(argv[1]);
            ok = 0;
        } else {
            fprintf(f, "P6\n%ld %ld\n255\n", width, height);
            fwrite(image, row_bytes, (size_t)height, f);
            int werr = ferror(f);
            if (fclose(f) != 0 || werr) {
                perror(argv[1]);
                ok = 0;
            }
        }
    }
    if (ok) {
        /* FNV-1a over the pixels: equal images give equal checksums. */
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < (size_t)height * row_bytes; i++) h = (h ^ image[i]) * 1099511628211ull;
        printf("%ldx%ld pixels, checksum %016llx\n", width, height, (unsigned long long)h);
        printf("wrote %s\n", argv[1]);
    }

    free(rows);
    free(image);
    int crc = mpipool_close(pool);
    return ok && crc == MPIPOOL_OK ? 0 : 1;
}
