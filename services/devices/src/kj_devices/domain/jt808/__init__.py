"""JT/T 808 (道路运输车辆卫星定位系统 终端通讯协议): the frames and message bodies the
gateway speaks, as plain functions over bytes. 2013 and 2019 headers both; no I/O here."""
