/* pyro.h: the one header to include for libpyro. */
#pragma once

/**
 * @file pyro.h
 * @brief The umbrella header: `#include <pyro/pyro.h>`.
 */

#include <pyro/pyro-error.h>
#include <pyro/pyro-uri.h>
#include <pyro/pyro-class.h>
#include <pyro/pyro-daemon.h>
#include <pyro/pyro-proxy.h>
#include <pyro/pyro-stream.h>
#include <pyro/pyro-batch.h>
#include <pyro/pyro-naming.h>
