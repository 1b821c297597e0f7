/*
 * src/exitcodes.h
 *     Exit statuses of import_ecoloweb_data (design.md, "exit status never lies").
 */
#ifndef ECOLO_EXITCODES_H
#define ECOLO_EXITCODES_H

#define EXIT_CODE_OK 0            /* everything imported (or checked, dry run) */
#define EXIT_CODE_IMPORT_FAILED 1 /* data or database error: nothing of it committed */
#define EXIT_CODE_USAGE 2         /* bad usage or configuration: nothing done */
#define EXIT_CODE_SIGINT 130
#define EXIT_CODE_SIGTERM 143

#endif
