# SPDX-License-Identifier: MIT
"""Takes the README's picture of steer-web (`make screenshot`): a real steerd
on the default diode, steer-web attached, headless Chromium on an operator's
page; the current is raised past the space-charge limit from the page so
that the picture shows a steering marker and a virtual cathode forming.

    /usr/bin/python3 doc/screenshot-web.py --build build doc/steer-web.png
"""
import argparse
import os
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("out")
    args = ap.parse_args()
    os.environ["STEERD_BUILD"] = args.build
    import steerd_harness as H
    import test_steer_web as W

    d = H.Steerd(config=H.make_config(start="running", diagnostics={"heartbeat_ms": 500}))
    web = b = None
    try:
        d.start()
        web = W.SteerWeb(d.conn_path)
        b = W.browser()
        b.set_window_size(1400, 1250)
        b.get(web.url(W.ALICE))
        H.wait_until(lambda: b.execute_script("return window.steerWeb && steerWeb.step > 3000"), 60,
                     what="the page running")
        r = b.execute_async_script(
            "steerWeb.send('set', {values: {injected_current: 4000}}).then(arguments[0]);")
        assert r["ok"], r
        H.wait_until(lambda: b.execute_script("return steerWeb.scalars.virtual_cathode === 1"), 60,
                     what="a virtual cathode")
        step = b.execute_script("return steerWeb.step")
        H.wait_until(lambda: b.execute_script("return steerWeb.step > %d + 4000" % step), 60,
                     what="the run going on")
        time.sleep(0.5)  # not a synchronisation: the charts finish drawing the last frame
        b.save_screenshot(args.out)
        print("wrote", args.out)
    finally:
        if b:
            b.quit()
        if web:
            web.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
