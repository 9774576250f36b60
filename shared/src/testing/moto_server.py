# Runs moto's server on a free loopback port for one test process: prints the port, then serves
# until the process that started it is gone (tests cannot run clean-up code when they exit).
import os
import sys
import time

from moto.server import ThreadedMotoServer

parent = os.getppid()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
while os.getppid() == parent:
    time.sleep(0.5)
server.stop()
sys.exit(0)
