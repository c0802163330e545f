"""A fourth connector: the province's land database answers parcel lookups (docs/connectors.md)."""

from pydantic import BaseModel

from hub.sdk import Connector, Message


class ParcelRequest(BaseModel):
    MaYeuCau: str
    MaXa: str
    SoToBanDo: int
    SoThua: int


PARCELS = {("21550", 12, 345): (152.4, "ODT"), ("21553", 3, 78): (1250.0, "LUC")}

land = Connector("dat-dai", name="Cơ sở dữ liệu đất đai tỉnh", agency="000.01.04.H22", systems=["dat-dai"])


@land.serves("land.parcel.request", reply="land.parcel.reply", model=ParcelRequest,
             description="The area and land use of one parcel (xã, tờ bản đồ, thửa).")
async def look_up(message: Message[ParcelRequest]) -> None:
    request = message.payload
    parcel = PARCELS.get((request.MaXa, request.SoToBanDo, request.SoThua))
    reply = {"MaYeuCau": request.MaYeuCau, "TimThay": parcel is not None}
    if parcel:
        reply |= {"DienTich": parcel[0], "MucDichSuDung": parcel[1]}
    await land.reply(message, "land.parcel.reply", reply)
