/* version.h - firmware version reported by INFO (semantic versioning). */
#ifndef TINYECG_VERSION_H
#define TINYECG_VERSION_H

#define TINYECG_FW_VERSION "0.1.0"

#endif
