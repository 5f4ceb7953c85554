/* The second `dupe` of test_deferred: same name, another function. */
#include <stdint.h>
#include "mpipool.h"

static int dupe(mpipool_task *t) {
    *(int32_t *)t->out = 2;
    return 0;
}
MPIPOOL_TASK(dupe);
