/* SPDX-License-Identifier: MIT */
/* sonde-demo's targets beside the CPU one (sonde_demo.c). */
#ifndef SONDE_DEMO_H
#define SONDE_DEMO_H

/* The loopback LLM server: prints its port, serves until killed; 1 on error. */
int demo_llm_server(void);
/* @rounds of three LLM calls to the server on @port; 1 if it does not answer. */
int demo_llm_client(int port, int rounds);

#endif /* SONDE_DEMO_H */
